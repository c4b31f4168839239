import { Injectable } from '@nestjs/common';
import { TokenService } from '../auth/token.service.js';
import { UsersService, type UserView } from '../users/users.service.js';

/**
 * Account changes as administrators make them (admin API and `stepd users`): a changed password
 * or a removed account also ends every session of that user.
 */
@Injectable()
export class UserAccountsService {
  constructor(
    private readonly users: UsersService,
    private readonly tokens: TokenService,
  ) {}

  /** Creates an account. */
  add(name: string, password: string): Promise<UserView> {
    return this.users.add(name, password);
  }

  /** Sets a new password and revokes the user's sessions; returns how many were revoked. */
  async passwd(name: string, password: string): Promise<number> {
    await this.users.passwd(name, password);
    return this.tokens.revokeUser(name);
  }

  /** Removes an account and revokes its sessions (returns how many). Stored files stay, owned by the name. */
  async remove(name: string): Promise<number> {
    await this.users.remove(name);
    return this.tokens.revokeUser(name);
  }

  /** Every account, by name. */
  list(): Promise<UserView[]> {
    return this.users.list();
  }
}
