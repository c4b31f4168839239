import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

/** Characters a user name may hold: printable, no spaces, safe in logs and shells. */
export const USER_NAME_PATTERN = /^[A-Za-z0-9._@+-]+$/;
/** Shortest password accepted for an account. */
export const PASSWORD_MIN_LENGTH = 8;
/** Longest password (LOGIN accepts no longer one). */
export const PASSWORD_MAX_LENGTH = 1024;

/** A password as set through the admin API or `stepd users passwd`. */
export class PasswordDto {
  @IsString({ message: 'password must be a string' })
  @MinLength(PASSWORD_MIN_LENGTH, { message: `password must be at least ${PASSWORD_MIN_LENGTH} characters` })
  @MaxLength(PASSWORD_MAX_LENGTH, { message: `password must be at most ${PASSWORD_MAX_LENGTH} characters` })
  password: string;
}

/** A new account (POST /admin/users, `stepd users add`). */
export class CreateUserDto extends PasswordDto {
  @IsString({ message: 'name must be a string' })
  @MinLength(1, { message: 'name must not be empty' })
  @MaxLength(255, { message: 'name must be at most 255 characters' })
  @Matches(USER_NAME_PATTERN, { message: 'name may contain only letters, digits and . _ @ + -' })
  name: string;
}
