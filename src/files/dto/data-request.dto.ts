import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

/** Fields of DATA requests the server reads itself (the rest of a SAVE is the record's body). */
export class DataRequestDto {
  @IsOptional()
  @IsString({ message: 'Field "key" has to be a string.' })
  key?: string;

  @IsOptional()
  @IsString({ message: 'Field "prefix" has to be a string.' })
  prefix?: string;

  @IsOptional()
  @Min(1, { message: 'Field "limit" has to be at least 1.' })
  @Max(10_000, { message: 'Field "limit" has to be at most 10000.' })
  @IsInt({ message: 'Field "limit" has to be an integer.' })
  limit?: number;
}
