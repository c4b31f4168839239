import { Delete, Get, HttpCode, HttpStatus, Query, UsePipes } from '@nestjs/common';
import { adminValidationPipe } from '../admin-kit/admin-validation.pipe.js';
import { AdminController } from '../admin-kit/admin-controller.decorator.js';
import { ListFilesQueryDto, UserKeyQueryDto } from './storage-admin.dto.js';
import { StorageAdminService, type FileView } from './storage-admin.service.js';

/** /admin/files: a user's completed files, and deleting one. */
@AdminController('files')
@UsePipes(adminValidationPipe)
export class FilesAdminController {
  constructor(private readonly files: StorageAdminService) {}

  /** `?username=[&prefix=][&limit=]`: the user's completed files (404 for an unknown user). */
  @Get()
  async list(@Query() query: ListFilesQueryDto): Promise<{ username: string; files: FileView[] }> {
    return { username: query.username, files: await this.files.listFiles(query.username, query.prefix, query.limit) };
  }

  /** Deletes `?username=&key=` (204; 404 when the user has no such file). */
  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  delete(@Query() query: UserKeyQueryDto): Promise<void> {
    return this.files.deleteFile(query.username, query.key);
  }
}
