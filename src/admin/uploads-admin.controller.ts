import { Delete, Get, HttpCode, HttpStatus, Query, UsePipes } from '@nestjs/common';
import { adminValidationPipe } from '../admin-kit/admin-validation.pipe.js';
import { AdminController } from '../admin-kit/admin-controller.decorator.js';
import { UserKeyQueryDto } from './storage-admin.dto.js';
import { StorageAdminService, type UploadView } from './storage-admin.service.js';

/** /admin/uploads: uploads in progress, and cancelling one. */
@AdminController('uploads')
@UsePipes(adminValidationPipe)
export class UploadsAdminController {
  constructor(private readonly files: StorageAdminService) {}

  /** Uploads in progress with their progress and last activity. */
  @Get()
  async list(): Promise<{ uploads: UploadView[] }> {
    return { uploads: await this.files.listUploads() };
  }

  /** Cancels `?username=&key=` (204; 404 when there is no such upload). A later UPLOAD gets 408. */
  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  cancel(@Query() query: UserKeyQueryDto): Promise<void> {
    return this.files.cancelUpload(query.username, query.key);
  }
}
