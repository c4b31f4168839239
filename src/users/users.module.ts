import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PasswordHasher } from './password-hasher.js';
import { UserEntity } from './user.entity.js';
import { UsersService } from './users.service.js';

/** Accounts of `accounts` auth mode (users table, scrypt hashes). No HTTP or STEP surface of its own. */
@Module({
  imports: [TypeOrmModule.forFeature([UserEntity])],
  providers: [UsersService, { provide: PasswordHasher, useFactory: () => new PasswordHasher() }],
  exports: [UsersService],
})
export class UsersModule {}
