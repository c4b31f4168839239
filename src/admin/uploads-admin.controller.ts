import { Delete, Get, HttpCode, HttpStatus, Query, UsePipes } from '@nestjs/common';
import { adminValidationPipe } from './admin-validation.pipe.js';
import { AdminController } from './admin-controller.decorator.js';
import { UserKeyQueryDto } from './files-admin.dto.js';
import { FilesAdminService, type UploadView } from './files-admin.service.js';

/** /admin/uploads: uploads in progress, and cancelling one. */
@AdminController('uploads')
@UsePipes(adminValidationPipe)
export class UploadsAdminController {
  constructor(private readonly files: FilesAdminService) {}

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
