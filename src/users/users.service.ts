import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import type { Repository } from 'typeorm';
import { Clock } from '../common/clock.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { isUniqueViolation } from '../database/unique-violation.js';
import { PasswordHasher } from './password-hasher.js';
import { UserEntity } from './user.entity.js';
import { UserExistsError, UserNotFoundError } from './users.errors.js';

/** What the admin API and `stepd users ls` show of an account (never the hash). */
export interface UserView {
  name: string;
  created_at: string;
  updated_at: string;
}

function view(user: UserEntity): UserView {
  return { name: user.name, created_at: new Date(user.createdAt).toISOString(), updated_at: new Date(user.updatedAt).toISOString() };
}

/** Accounts of `accounts` auth mode: management and the password check of LOGIN. */
@Injectable()
export class UsersService implements OnModuleInit {
  private dummyHash: Promise<string> | null = null;

  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
    @InjectStepConfig() private readonly config: StepConfig,
  ) {}

  /** In accounts mode the dummy hash is ready before the first LOGIN, so even that one is not faster. */
  async onModuleInit(): Promise<void> {
    if (this.config.auth.mode === 'accounts') await this.dummy();
  }

  /** Creates an account. Input is validated by the caller (CreateUserDto). */
  async add(name: string, password: string): Promise<UserView> {
    if (await this.users.existsBy({ name })) throw new UserExistsError(name);
    const now = this.clock.now();
    const user = { name, passwordHash: await this.hasher.hash(password), createdAt: now, updatedAt: now };
    try {
      await this.users.insert(user);
    } catch (err) {
      // Two concurrent adds of one name: the unique index decides.
      if (isUniqueViolation(err)) throw new UserExistsError(name);
      throw err;
    }
    return view(user as UserEntity);
  }

  /** Sets a new password. Callers revoke the user's sessions (TokenService.revokeUser). */
  async passwd(name: string, password: string): Promise<void> {
    const passwordHash = await this.hasher.hash(password);
    const result = await this.users.update({ name }, { passwordHash, updatedAt: this.clock.now() });
    if (!result.affected) throw new UserNotFoundError(name);
  }

  /** Deletes an account. Callers revoke the user's sessions (TokenService.revokeUser). */
  async remove(name: string): Promise<void> {
    const result = await this.users.delete({ name });
    if (!result.affected) throw new UserNotFoundError(name);
  }

  /** True if an account named `name` exists. */
  exists(name: string): Promise<boolean> {
    return this.users.existsBy({ name });
  }

  /** Every account, by name. */
  async list(): Promise<UserView[]> {
    return (await this.users.find({ order: { name: 'ASC' } })).map(view);
  }

  /**
   * The stored hash when `name` exists and `password` is its password, else null. An unknown
   * name is hashed against a dummy hash, so both refusals cost one scrypt and cannot be told
   * apart by timing. The hash identifies the credential checked (see isCurrentCredential).
   */
  async verifyCredentials(name: string, password: string): Promise<string | null> {
    const user = await this.users.findOneBy({ name });
    const matches = await this.hasher.verify(password, user?.passwordHash ?? (await this.dummy()));
    return user !== null && matches ? user.passwordHash : null;
  }

  /** True while `name` still exists with the password hash `passwordHash` (a fresh salt per change). */
  isCurrentCredential(name: string, passwordHash: string): Promise<boolean> {
    return this.users.existsBy({ name, passwordHash });
  }

  private dummy(): Promise<string> {
    // Hashed once with the current parameters, from a random password nobody knows.
    this.dummyHash ??= this.hasher.hash(randomBytes(32).toString('base64'));
    return this.dummyHash;
  }
}
