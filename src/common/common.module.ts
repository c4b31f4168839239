import { Global, Module } from '@nestjs/common';
import { BlockBufferPool } from './block-buffer-pool.js';
import { Clock } from './clock.js';

/** Cross-cutting providers shared by every feature module: the clock and the block buffer pool. */
@Global()
@Module({
  providers: [Clock, { provide: BlockBufferPool, useFactory: () => new BlockBufferPool() }],
  exports: [Clock, BlockBufferPool],
})
export class CommonModule {}
