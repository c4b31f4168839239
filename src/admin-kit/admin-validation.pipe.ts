import { ValidationPipe } from '@nestjs/common';

/**
 * Validation of admin API query strings and bodies: types converted from the query string,
 * unknown parameters refused (a misspelt `?usename=` must not silently mean "no filter"), 400 otherwise.
 */
export const adminValidationPipe = new ValidationPipe({
  transform: true,
  whitelist: true,
  forbidNonWhitelisted: true,
  validationError: { target: false, value: false },
});
