import { ArgumentsHost, Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Hands every error thrown in a STEP handler (domain, validation, guard or unknown) on unchanged
 * to StepDispatcher, which answers it. Without this filter Nest's default RPC filter would turn
 * anything but an RpcException into a generic object and lose the STEP status.
 */
@Catch()
export class StepExceptionFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
