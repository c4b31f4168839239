import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { Observable, throwError } from 'rxjs';
import { StepError } from '../protocol/index.js';

/**
 * The one place where any error thrown in a STEP handler (domain, validation, guard or unknown)
 * becomes a StepError. Unknown errors are logged with their stack and answered with a generic
 * 500, never with internals.
 */
@Catch()
export class StepExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('StepExceptionFilter');

  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => this.toStepError(exception));
  }

  private toStepError(exception: unknown): StepError {
    if (exception instanceof StepError) return exception;
    if (exception instanceof RpcException && exception.getError() instanceof StepError) {
      return exception.getError() as StepError;
    }
    this.logger.error('unexpected error in a STEP handler', (exception as Error)?.stack ?? String(exception));
    return StepError.internal();
  }
}
