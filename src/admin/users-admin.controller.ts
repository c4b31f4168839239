import {
  Body,
  ConflictException,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
  Put,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { AdminController } from '../admin-kit/admin-controller.decorator.js';
import { CreateUserDto, PasswordDto } from '../users/user.dto.js';
import { UserExistsError, UserNotFoundError } from '../users/users.errors.js';
import type { UserView } from '../users/users.service.js';
import { UserAccountsService } from './user-accounts.service.js';

/** Turns the account errors into HTTP statuses (409 taken, 404 unknown); others pass through. */
function asHttpError(err: unknown): never {
  if (err instanceof UserExistsError) throw new ConflictException(err.message);
  if (err instanceof UserNotFoundError) throw new NotFoundException(err.message);
  throw err;
}

/** /admin/users: account management over HTTP (the same operations as `stepd users`). */
@AdminController('users')
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }))
export class UsersAdminController {
  constructor(private readonly accounts: UserAccountsService) {}

  /** Every account (name and times, never the hash). */
  @Get()
  list(): Promise<UserView[]> {
    return this.accounts.list();
  }

  /** Creates an account: 201, 409 when the name is taken, 400 for a bad name or password. */
  @Post()
  create(@Body() dto: CreateUserDto): Promise<UserView> {
    return this.accounts.add(dto.name, dto.password).catch(asHttpError);
  }

  /** Sets a password and ends the user's sessions: 204, 404 for an unknown user. */
  @Put(':name/password')
  @HttpCode(HttpStatus.NO_CONTENT)
  async passwd(@Param('name') name: string, @Body() dto: PasswordDto): Promise<void> {
    await this.accounts.passwd(name, dto.password).catch(asHttpError);
  }

  /** Removes an account and ends its sessions: 204, 404 for an unknown user. */
  @Delete(':name')
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(@Param('name') name: string): Promise<void> {
    await this.accounts.remove(name).catch(asHttpError);
  }
}
