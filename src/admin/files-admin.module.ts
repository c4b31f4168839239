import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SessionEntity } from '../auth/session.entity.js';
import { FilesModule } from '../files/files.module.js';
import { UserEntity } from '../users/user.entity.js';
import { FilesAdminController } from './files-admin.controller.js';
import { FilesAdminService } from './files-admin.service.js';
import { UploadsAdminController } from './uploads-admin.controller.js';

/** /admin/uploads and /admin/files (sessions and users have their own admin controllers). */
@Module({
  imports: [FilesModule, TypeOrmModule.forFeature([SessionEntity, UserEntity])],
  controllers: [UploadsAdminController, FilesAdminController],
  providers: [FilesAdminService],
})
export class FilesAdminModule {}
