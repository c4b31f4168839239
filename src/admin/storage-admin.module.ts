import { Module } from '@nestjs/common';
import { SessionsModule } from '../auth/sessions.module.js';
import { FilesModule } from '../files/files.module.js';
import { UsersModule } from '../users/users.module.js';
import { FilesAdminController } from './files-admin.controller.js';
import { StorageAdminService } from './storage-admin.service.js';
import { UploadsAdminController } from './uploads-admin.controller.js';

/** /admin/uploads and /admin/files (sessions and health register their own admin controllers). */
@Module({
  imports: [FilesModule, SessionsModule, UsersModule],
  controllers: [UploadsAdminController, FilesAdminController],
  providers: [StorageAdminService],
})
export class StorageAdminModule {}
