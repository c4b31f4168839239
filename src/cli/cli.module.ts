import { Module } from '@nestjs/common';
import { CliOutputService } from './cli-output.service.js';
import { DataCommand } from './data.command.js';
import { DeleteCommand } from './delete.command.js';
import { DownloadCommand } from './download.command.js';
import { CredentialsService, LoginPasswordQuestions } from './credentials.service.js';
import { LoginCommand } from './login.command.js';
import { LogoutCommand } from './logout.command.js';
import { LsCommand } from './ls.command.js';
import { StepRootCommand } from './root.command.js';
import { StatusCommand } from './status.command.js';
import { UploadCommand } from './upload.command.js';

/** The `step` CLI: its commands and the output service they share. */
@Module({
  providers: [
    CliOutputService,
    CredentialsService,
    LoginPasswordQuestions,
    StepRootCommand,
    LoginCommand,
    LogoutCommand,
    UploadCommand,
    DownloadCommand,
    StatusCommand,
    DeleteCommand,
    LsCommand,
    ...DataCommand.registerWithSubCommands(),
  ],
})
export class CliModule {}
