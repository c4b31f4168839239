import { IsOptional, IsString, MaxLength } from 'class-validator';

/**
 * LOGIN request fields (presence is checked by the handler, in the spec's order). class-validator
 * runs the decorator nearest the property first, so the type check sits there: a number is
 * reported as "has to be a string", not as too long.
 */
export class LoginDto {
  @IsOptional()
  @MaxLength(255, { message: 'Field "username" is longer than 255 characters.' })
  @IsString({ message: 'Field "username" has to be a string.' })
  username?: string;

  @IsOptional()
  @MaxLength(1024, { message: 'Field "password" is longer than 1024 characters.' })
  @IsString({ message: 'Field "password" has to be a string.' })
  password?: string;
}
