import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { STEP_LIST_LIMIT_MAX } from '../../protocol/index.js';

/** The LIST fields (docs/protocol.md §7) that FILE and DATA requests share. */
export class ListFieldsDto {
  @IsOptional()
  @IsString({ message: 'Field "prefix" has to be a string.' })
  prefix?: string;

  // Type check nearest the property: class-validator runs it first.
  @IsOptional()
  @Min(1, { message: 'Field "limit" has to be at least 1.' })
  @Max(STEP_LIST_LIMIT_MAX, { message: `Field "limit" has to be at most ${STEP_LIST_LIMIT_MAX}.` })
  @IsInt({ message: 'Field "limit" has to be an integer.' })
  limit?: number;

  /** Paging: only keys after this one (LIST answers in key order). */
  @IsOptional()
  @IsString({ message: 'Field "after" has to be a string.' })
  after?: string;
}
