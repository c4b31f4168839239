import { Delete, Get, HttpCode, HttpStatus, NotFoundException, Param } from '@nestjs/common';
import { AdminController } from '../admin-kit/admin-controller.decorator.js';
import { ADMIN_LIST_LIMIT } from '../admin-kit/admin-list.js';
import { TokenService, type SessionView } from './token.service.js';

/** /admin/sessions: who is logged in, and revoking a session. */
@AdminController('sessions')
export class SessionsAdminController {
  constructor(private readonly tokens: TokenService) {}

  /** The most recent sessions (at most ADMIN_LIST_LIMIT), newest first. */
  @Get()
  list(): Promise<SessionView[]> {
    return this.tokens.list(ADMIN_LIST_LIMIT);
  }

  /** Revokes a session (204; 404 for an unknown id). Its token is refused from the next request on. */
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async revoke(@Param('id') id: string): Promise<void> {
    if (!(await this.tokens.revoke(id))) throw new NotFoundException(`session ${id} does not exist`);
  }
}
