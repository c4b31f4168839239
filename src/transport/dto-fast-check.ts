import { getMetadataStorage, ValidationTypes, type ValidationArguments, type ValidatorOptions } from 'class-validator';

/** A DTO class, as class-validator keys its metadata. */
type DtoClass = abstract new (...args: never[]) => object;

type RuleMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

interface PropertyRules {
  property: string;
  /** @IsOptional / @ValidateIf: when one says no, the property is not checked at all. */
  conditions: RuleMetadata[];
  /** @IsDefined first, then the other rules in class-validator's own order. */
  rules: RuleMetadata[];
}

/** A DTO's rules, read once; null when it uses anything the check below does not replay. */
type CompiledRules = PropertyRules[] | null;

/** The option keys StepValidationPipe passes that the check below replays as class-validator does. */
const REPLAYED_OPTIONS = new Set(['forbidUnknownValues', 'stopAtFirstError', 'validationError', 'whitelist']);

/**
 * A per-class replay of class-validator's checks that answers one question: does this DTO
 * instance pass? Its rules are read from class-validator's metadata once per class (instead of on
 * every request) and run through the same constraint instances, so a yes here is class-validator's
 * yes. It never builds errors: a no (or a rule it cannot replay: nested, async, `each`, groups)
 * sends the object through class-validator itself, whose errors are then the ones answered.
 */
export class DtoFastCheck {
  private readonly compiled = new Map<DtoClass, CompiledRules>();

  /** True when `object` passes every rule of its class; false when class-validator has to decide. */
  passes(object: object, options: ValidatorOptions): boolean {
    const target = object.constructor as DtoClass;
    if (typeof target !== 'function') return false;
    let rules = this.compiled.get(target);
    if (rules === undefined) {
      rules = compile(target, options);
      this.compiled.set(target, rules);
    }
    if (rules === null) return false;
    for (const property of rules) if (!propertyPasses(object, property)) return false;
    return true;
  }
}

function compile(target: DtoClass, options: ValidatorOptions): CompiledRules {
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && value !== false && !REPLAYED_OPTIONS.has(key)) return null;
  }
  if (options.whitelist) return null;
  const storage = getMetadataStorage();
  // The same lookup as class-validator's ValidationExecutor (no schema, no groups, not "always").
  const metadatas = storage.getTargetValidationMetadatas(target, '', false, false, undefined);
  // An unknown class is an error for forbidUnknownValues: leave that to class-validator.
  if (metadatas.length === 0) return null;
  const grouped = storage.groupByPropertyName(metadatas);
  const compiled: PropertyRules[] = [];
  for (const [property, list] of Object.entries(grouped)) {
    const conditions: RuleMetadata[] = [];
    const defined: RuleMetadata[] = [];
    const custom: RuleMetadata[] = [];
    for (const metadata of list) {
      if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION) conditions.push(metadata);
      else if (metadata.type === ValidationTypes.IS_DEFINED) defined.push(metadata);
      else if (metadata.type === ValidationTypes.CUSTOM_VALIDATION && !metadata.each) custom.push(metadata);
      else return null;
    }
    for (const metadata of [...defined, ...custom]) {
      for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) if (constraint.async) return null;
    }
    compiled.push({ property, conditions, rules: [...defined, ...custom] });
  }
  return compiled;
}

function propertyPasses(object: object, { property, conditions, rules }: PropertyRules): boolean {
  const value: unknown = (object as Record<string, unknown>)[property];
  for (const condition of conditions) {
    if (!(condition.constraints[0] as (o: object, v: unknown) => boolean)(object, value)) return true;
  }
  const storage = getMetadataStorage();
  for (const metadata of rules) {
    if (metadata.validateIf && !metadata.validateIf(object, value)) continue;
    const args: ValidationArguments = {
      targetName: object.constructor.name,
      property: metadata.propertyName,
      object,
      value,
      constraints: metadata.constraints,
    };
    for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
      // A promise (an async rule registered late) is not a yes: class-validator decides.
      if (constraint.instance.validate(value, args) !== true) return false;
    }
  }
  return true;
}
