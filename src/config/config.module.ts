import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, registerAs } from '@nestjs/config';
import { stepConfigNamespace, type StepConfig } from './step.config.js';

/** Makes the already-validated StepConfig injectable everywhere (via InjectStepConfig). */
@Module({})
export class StepConfigModule {
  /** Registers `config` with @nestjs/config; the environment itself is not read again. */
  static forRoot(config: StepConfig): DynamicModule {
    return {
      module: StepConfigModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          load: [registerAs(stepConfigNamespace, () => config)],
        }),
      ],
    };
  }
}
