import { applyDecorators, createParamDecorator, ExecutionContext, UseFilters, UsePipes } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { stepPatternKey, type StepOperation, type StepType } from '../protocol/index.js';
import type { StepContext } from './step.context.js';
import { StepExceptionFilter } from './step-exception.filter.js';
import { stepValidationPipe } from './step-validation.pipe.js';

/** Pattern of the handler that answers type+operation pairs no other handler takes. */
export const STEP_FALLBACK_PATTERN = 'STEP:FALLBACK';

/**
 * What a request may carry, declared once on its handler and read by StepDispatcher (Nest
 * carries these as the pattern's extras).
 */
export interface StepPatternOptions {
  /** The request carries a binary section (UPLOAD); any other request that declares one gets 400 and is closed. */
  binary?: boolean;
  /** The reply carries a block (DOWNLOAD): the request waits for reply budget before its handler runs. */
  repliesWithBlock?: boolean;
}

/**
 * Registers a STEP handler for one type+operation, with STEP's validation pipe and exception
 * filter scoped to STEP handlers only (HTTP endpoints keep Nest's defaults).
 */
export function StepPattern(type: StepType, operation: StepOperation, options: StepPatternOptions = {}): MethodDecorator {
  return applyDecorators(
    MessagePattern(stepPatternKey(type, operation), { ...options }),
    UsePipes(stepValidationPipe),
    UseFilters(StepExceptionFilter),
  );
}

/** The fallback handler (see STEP_FALLBACK_PATTERN). */
export function StepFallbackPattern(): MethodDecorator {
  return applyDecorators(MessagePattern(STEP_FALLBACK_PATTERN), UseFilters(StepExceptionFilter));
}

/** Injects the request's binary section (a Buffer, or null when the request had none). */
export const StepBinary = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  ctx.switchToRpc().getContext<StepContext>().getBinary(),
);

/** Injects the authenticated session (set by the auth guard). */
export const StepSessionParam = createParamDecorator(
  (_: unknown, ctx: ExecutionContext) => ctx.switchToRpc().getContext<StepContext>().session,
);

/** Injects the raw JSON section (for handlers that keep the user's own fields, like DATA SAVE). */
export const StepRequestJson = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  ctx.switchToRpc().getContext<StepContext>().getRequest(),
);
