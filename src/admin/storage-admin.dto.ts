import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { ADMIN_LIST_LIMIT } from '../admin-kit/admin-list.js';

/** Longest user name the admin API accepts (the sessions table's column width). */
const USERNAME_MAX_LENGTH = 255;
/** Longest key the admin API accepts: STEP_MAX_KEY_BYTES can be configured up to this. */
const KEY_MAX_LENGTH = 65536;

/** A user, named in the query string (`?username=`): names and keys may hold any character, `/` included. */
export class UserQueryDto {
  @IsString()
  @MinLength(1)
  @MaxLength(USERNAME_MAX_LENGTH)
  username: string;
}

/** One key of one user (`?username=&key=`): an upload to cancel or a file to delete. */
export class UserKeyQueryDto extends UserQueryDto {
  @IsString()
  @MinLength(1)
  @MaxLength(KEY_MAX_LENGTH)
  key: string;
}

/** A user's file listing (`?username=&prefix=&limit=`). */
export class ListFilesQueryDto extends UserQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(KEY_MAX_LENGTH)
  prefix?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(ADMIN_LIST_LIMIT)
  limit?: number;
}
