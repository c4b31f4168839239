import { IsOptional, IsString } from 'class-validator';
import { ListFieldsDto } from './list-fields.dto.js';

/** Fields of DATA requests the server reads itself (the rest of a SAVE is the record's body). */
export class DataRequestDto extends ListFieldsDto {
  @IsOptional()
  @IsString({ message: 'Field "key" has to be a string.' })
  key?: string;
}
