import { IsBoolean, IsInt, IsOptional, IsString, Matches } from 'class-validator';
import { ListFieldsDto } from './list-fields.dto.js';

/**
 * Fields of FILE requests. Types only: which fields an operation needs, and the status when one
 * is missing, are the service's (the spec fixes their order). Negative or huge integers pass
 * here on purpose and get the spec's own statuses (405, 410, 413) from the service.
 */
export class FileRequestDto extends ListFieldsDto {
  @IsOptional()
  @IsString({ message: 'Field "key" has to be a string.' })
  key?: string;

  @IsOptional()
  @IsInt({ message: 'Field "size" has to be an integer.' })
  size?: number;

  @IsOptional()
  @IsInt({ message: 'Field "block_index" has to be an integer.' })
  block_index?: number;

  @IsOptional()
  @IsInt({ message: 'Field "block_size" has to be an integer.' })
  block_size?: number;

  @IsOptional()
  @Matches(/^[0-9a-fA-F]{32}$/, { message: 'Field "block_md5" has to be 32 hexadecimal characters.' })
  block_md5?: string;

  /** LIST: unfinished uploads instead of complete files. */
  @IsOptional()
  @IsBoolean({ message: 'Field "incomplete" has to be true or false.' })
  incomplete?: boolean;
}
