import { IsOptional, IsString, MaxLength } from 'class-validator';

/** LOGIN request fields (presence is checked by the handler, in the spec's order). */
export class LoginDto {
  @IsOptional()
  @IsString({ message: 'Field "username" has to be a string.' })
  @MaxLength(255, { message: 'Field "username" is longer than 255 characters.' })
  username?: string;

  @IsOptional()
  @IsString({ message: 'Field "password" has to be a string.' })
  @MaxLength(1024, { message: 'Field "password" is longer than 1024 characters.' })
  password?: string;
}
