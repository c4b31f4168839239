import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SessionEntity } from './session.entity.js';
import { SessionRepository } from './session.repository.js';
import { TokenService } from './token.service.js';

/** Sessions and their tokens, without the STEP surface (so `stepd users` can revoke sessions too). */
@Module({
  imports: [TypeOrmModule.forFeature([SessionEntity])],
  providers: [TokenService, SessionRepository],
  exports: [TokenService],
})
export class SessionsModule {}
