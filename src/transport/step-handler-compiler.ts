import type { ExecutionContext, PipeTransform } from '@nestjs/common';
import { CUSTOM_ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { MetadataScanner, type ApplicationConfig, type NestContainer } from '@nestjs/core';
import {
  ContextUtils,
  GuardsContextCreator,
  InterceptorsContextCreator,
  ParamsTokenFactory,
  PipesContextCreator,
  type InstanceWrapper,
} from '@nestjs/core/internal';
import type { MessageHandler } from '@nestjs/microservices';
import { PARAM_ARGS_METADATA } from '@nestjs/microservices/constants.js';
import { ExceptionFiltersContext } from '@nestjs/microservices/context/exception-filters-context.js';
import { DEFAULT_CALLBACK_METADATA } from '@nestjs/microservices/context/rpc-metadata-constants.js';
import { RpcParamsFactory } from '@nestjs/microservices/factories/rpc-params-factory.js';
import { ListenerMetadataExplorer } from '@nestjs/microservices/listener-metadata-explorer.js';
import { stepHandlerChain, type ChainParam } from './step-handler-chain.js';

/** A parameter as a handler's decorators recorded it (Nest's route-args metadata). */
interface ParamDeclaration {
  index: number;
  data?: unknown;
  pipes?: unknown[];
  schema?: unknown;
  factory?: (data: unknown, context: ExecutionContext) => unknown;
}

type Controller = Record<string, (...args: unknown[]) => unknown>;

/**
 * Builds a stepHandlerChain for each STEP request handler Nest registered, from the same
 * enhancers Nest's RpcContextCreator resolves for it (its context creators over the app's
 * container and config: global, class and method guards, pipes and filters, parameter
 * decorators and their pipes). A handler keeps Nest's own pipeline when the chain could differ
 * from it: interceptors, pre-request hooks, a request-scoped controller, an event handler, or a
 * pattern two methods declare.
 */
export class StepHandlerCompiler {
  private readonly guards: GuardsContextCreator;
  private readonly pipes: PipesContextCreator;
  private readonly interceptors: InterceptorsContextCreator;
  private readonly filters: ExceptionFiltersContext;
  private readonly utils = new ContextUtils();
  private readonly paramsFactory = new RpcParamsFactory();
  private readonly paramTokens = new ParamsTokenFactory();
  private readonly explorer = new ListenerMetadataExplorer(new MetadataScanner());

  /**
   * @param container the app's DI container
   * @param config the ApplicationConfig the microservice was connected with (the app's own with
   *   `inheritAppConfig: true`): where the global enhancers are
   */
  constructor(
    private readonly container: NestContainer,
    private readonly config: ApplicationConfig,
  ) {
    this.guards = new GuardsContextCreator(container, config);
    this.pipes = new PipesContextCreator(container, config);
    this.interceptors = new InterceptorsContextCreator(container, config);
    this.filters = new ExceptionFiltersContext(container, config);
  }

  /**
   * The handler table with a chain in place of each of Nest's handlers that can have one.
   * @param registered Nest's table (`messageHandlers`), by normalized pattern
   * @param normalize the transport's pattern normalization (Server.normalizePattern)
   */
  compile(registered: ReadonlyMap<string, MessageHandler>, normalize: (pattern: unknown) => string): Map<string, MessageHandler> {
    const table = new Map(registered);
    if (this.config.getGlobalPreRequestHooks().length > 0) return table;
    const chains = new Map<string, MessageHandler | null>();
    for (const [moduleKey, module] of this.container.getModules()) {
      for (const wrapper of module.controllers.values()) {
        for (const [pattern, chain] of this.chainsOf(wrapper as InstanceWrapper<Controller>, moduleKey, normalize)) {
          // A pattern declared twice keeps whatever Nest made of it.
          chains.set(pattern, chains.has(pattern) ? null : chain);
        }
      }
    }
    for (const [pattern, chain] of chains) {
      const nest = registered.get(pattern);
      if (!chain || !nest || nest.isEventHandler || nest.next) continue;
      chain.isEventHandler = false;
      chain.extras = nest.extras;
      table.set(pattern, chain);
    }
    return table;
  }

  private *chainsOf(
    wrapper: InstanceWrapper<Controller>,
    moduleKey: string,
    normalize: (pattern: unknown) => string,
  ): Iterable<[string, MessageHandler | null]> {
    const instance = wrapper.instance;
    if (!instance || !wrapper.isDependencyTreeStatic()) return;
    for (const { patterns, methodKey, targetCallback, isEventHandler } of this.explorer.explore(instance)) {
      const chain = isEventHandler ? null : this.build(instance, targetCallback, methodKey, moduleKey);
      for (const pattern of patterns) yield [normalize(pattern), chain];
    }
  }

  private build(
    instance: Controller,
    callback: (...args: unknown[]) => unknown,
    methodKey: string,
    moduleKey: string,
  ): MessageHandler | null {
    if (this.interceptors.create(instance, callback, moduleKey).length > 0) return null;
    const declared =
      (this.utils.reflectCallbackMetadata(instance, methodKey, PARAM_ARGS_METADATA) as Record<string, ParamDeclaration> | undefined) ??
      (DEFAULT_CALLBACK_METADATA as Record<string, ParamDeclaration>);
    const keys = Object.keys(declared);
    const handlerPipes = this.pipes.create(instance, callback, moduleKey);
    const paramtypes = this.utils.reflectCallbackParamtypes(instance, methodKey) as unknown[] | undefined;
    this.pipes.setModuleContext(moduleKey);
    const params = keys.map((key) => this.param(key, declared[key], handlerPipes, paramtypes));
    return stepHandlerChain({
      instance,
      callback,
      guards: this.guards.create(instance, callback, moduleKey),
      params: params.length > 0 ? params : null,
      argsLength: this.utils.getArgumentsLength(keys, declared),
      exceptions: this.filters.create(instance, callback as never, moduleKey),
    });
  }

  /** One parameter, as RpcContextCreator.exchangeKeysForValues and mergeParamsMetatypes describe it. */
  private param(key: string, declared: ParamDeclaration, handlerPipes: PipeTransform[], paramtypes: unknown[] | undefined): ChainParam {
    const { index, data, factory } = declared;
    const own = this.pipes.createConcreteContext((declared.pipes ?? []) as never[]);
    const rawType = this.utils.mapParamType(key);
    const custom = key.includes(CUSTOM_ROUTE_ARGS_METADATA);
    const type = custom ? rawType : Number(rawType);
    const metadata = {
      metatype: paramtypes?.[index] as never,
      type: this.paramTokens.exchangeEnumForString(type as never),
      data: data as string | undefined,
      schema: declared.schema as never,
    };
    const extract: ChainParam['extract'] = custom
      ? typeof factory === 'function'
        ? (_args, context) => factory(data, context)
        : () => null
      : (args) => this.paramsFactory.exchangeKeyForValue(type as number, data as string, args) as unknown;
    return { index, extract, metadata, pipes: handlerPipes.concat(own) };
  }
}
