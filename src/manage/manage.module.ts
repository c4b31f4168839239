import { DynamicModule, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectCommander } from 'nest-commander';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClusterEventsModule } from '../cluster/cluster.module.js';
import { CommonModule } from '../common/common.module.js';
import { ExitCode } from '../common/exit-code.js';
import { packageVersion } from '../common/package-version.js';
import { StepConfigModule } from '../config/config.module.js';
import { STEP_CONFIG, type StepConfig } from '../config/step.config.js';
import { buildDataSourceOptions } from '../database/database.options.js';
import { initializeWithMigrations } from '../database/migration-lock.js';
import { UsersAdminModule } from '../admin/users-admin.module.js';
import { NewPasswordQuestions } from './new-password.questions.js';
import { UsersAddCommand, UsersCommand, UsersLsCommand, UsersPasswdCommand, UsersRmCommand } from './users.command.js';

/** The part of commander's Command this module touches. */
interface CommanderProgram {
  name(name: string): unknown;
  version(version: string, flags: string, description: string): unknown;
  addHelpText(position: 'after', text: string): unknown;
  exitOverride(handler: (err: { exitCode: number }) => void): unknown;
  readonly commands: readonly CommanderProgram[];
}

/**
 * Names the program `stepd` (commander would take the script's file name, `main`) and makes every
 * command-line error exit 2. Runs once nest-commander built the command tree; commands it adds
 * with addCommand() do not inherit the root's exit override, so each one gets it.
 */
@Injectable()
export class ProgramSetup implements OnApplicationBootstrap {
  constructor(@InjectCommander() private readonly program: CommanderProgram) {}

  onApplicationBootstrap(): void {
    this.program.name('stepd');
    this.program.version(packageVersion(), '-V, --version', 'print the version');
    // Dispatched before this tree is built (src/manage/main.ts): listed here for --help.
    this.program.addHelpText(
      'after',
      `
More commands:
  serve [--env-file FILE] [--data-dir DIR]         run the server (what npm start runs)
  check-config [--env-file FILE] [--data-dir DIR]  validate the configuration and print it, secrets masked (exit 0/1)`,
    );
    const override = (command: CommanderProgram): void => {
      // Commander already printed its one-line error (or the help); only the status is ours.
      command.exitOverride((err) => process.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE));
      command.commands.forEach(override);
    };
    override(this.program);
  }
}

/** The `stepd` management application: the server's config, database and services, no listeners. */
@Module({})
export class ManageModule {
  /** Builds the module tree for an already validated config. */
  static forRoot(config: StepConfig): DynamicModule {
    return {
      module: ManageModule,
      imports: [
        StepConfigModule.forRoot(config),
        CommonModule,
        TypeOrmModule.forRootAsync({
          inject: [STEP_CONFIG],
          // The server's options (migrations run), but a one-shot command fails at once instead of retrying.
          useFactory: (c: StepConfig) => ({ ...buildDataSourceOptions(c), autoLoadEntities: true, retryAttempts: 0 }),
          dataSourceFactory: (options) => initializeWithMigrations(options!),
        }),
        // Revocations reach running servers (LISTEN/NOTIFY on PostgreSQL); `stepd users` is no instance itself.
        ClusterEventsModule,
        UsersAdminModule,
      ],
      providers: [ProgramSetup, UsersCommand, UsersAddCommand, UsersPasswdCommand, UsersRmCommand, UsersLsCommand, NewPasswordQuestions],
    };
  }
}
