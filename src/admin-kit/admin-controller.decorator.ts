import { applyDecorators, Controller, UseGuards } from '@nestjs/common';
import { AdminTokenGuard } from './admin-token.guard.js';

/** An HTTP controller under /admin/<path>, behind the admin bearer token. */
export function AdminController(path: string): ClassDecorator {
  return applyDecorators(Controller(`admin/${path}`), UseGuards(AdminTokenGuard));
}
