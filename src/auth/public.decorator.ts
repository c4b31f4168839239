import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'stepd:public';

/** Marks a STEP handler that needs no token (LOGIN). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
