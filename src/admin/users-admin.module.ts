import { Module } from '@nestjs/common';
import { SessionsModule } from '../auth/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { UserAccountsService } from './user-accounts.service.js';
import { UsersAdminController } from './users-admin.controller.js';

/**
 * Account management (admin API; the service is shared with `stepd users`). Here, above auth and
 * users, because changing an account also ends its sessions.
 */
@Module({
  imports: [UsersModule, SessionsModule],
  controllers: [UsersAdminController],
  providers: [UserAccountsService],
  exports: [UserAccountsService],
})
export class UsersAdminModule {}
