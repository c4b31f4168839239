import { Injectable } from '@nestjs/common';

/** What the rest of the app may know about the STEP listener (no socket access). */
export interface StepListenerState {
  readonly listening: boolean;
  readonly openConnections: number;
}

/**
 * Read-only view of the STEP listener for HTTP endpoints (health). The transport strategy is
 * created after the module tree, so app.factory.ts attaches it here once it is connected.
 */
@Injectable()
export class StepListenerStatus {
  private server: StepListenerState | null = null;

  /** Called once by app.factory.ts after connectMicroservice. */
  attach(server: StepListenerState): void {
    this.server = server;
  }

  /** True while the STEP listener accepts connections. */
  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** Open STEP connections (0 before the listener is attached). */
  get openConnections(): number {
    return this.server?.openConnections ?? 0;
  }
}
