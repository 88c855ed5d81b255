// Case E of the servicekit load benchmark (bench/run.sh): what a team would pick instead.
// NestJS on the Fastify adapter; @nestjs/passport + passport-jwt verify the bearer token
// (ES256 or RS256, the same public keys as case C, issuer and audience checked), a guard
// checks the scope, and the controller returns the same JSON as the Rust cases.
// Single process (one event loop); NODE_ENV=production. PORT sets the port (default 8080),
// BENCH_JWT_PUBLIC_PEM names the file of PEM public keys (one EC P-256 and/or one RSA key).
import 'reflect-metadata';
import { createPublicKey, KeyObject } from 'crypto';
import { readFileSync } from 'fs';
import {
  CanActivate,
  Controller,
  ExecutionContext,
  ForbiddenException,
  Get,
  Injectable,
  Module,
  Param,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { ExtractJwt, Strategy } from 'passport-jwt';

const ISSUER = 'https://issuer.bench.local';
const AUDIENCE = 'servicekit-bench';
const READ_SCOPE = 'students:read';

// The verification key of each algorithm, from the PEM file (as servicekit's `pem` setting).
function loadKeys(path: string): Record<string, KeyObject> {
  const text = readFileSync(path, 'utf8');
  const blocks = text.match(/-----BEGIN [^-]+-----[\s\S]+?-----END [^-]+-----/g) ?? [];
  const keys: Record<string, KeyObject> = {};
  for (const block of blocks) {
    const key = createPublicKey(block);
    if (key.asymmetricKeyType === 'ec') keys.ES256 = key;
    if (key.asymmetricKeyType === 'rsa') keys.RS256 = key;
  }
  if (Object.keys(keys).length === 0) throw new Error(`${path}: no EC or RSA public key`);
  return keys;
}

const pemPath = process.env.BENCH_JWT_PUBLIC_PEM;
if (!pemPath) throw new Error('set BENCH_JWT_PUBLIC_PEM to a file of PEM public keys');
const KEYS = loadKeys(pemPath);

function tokenAlgorithm(rawJwt: string): string | undefined {
  try {
    return JSON.parse(Buffer.from(rawJwt.split('.')[0], 'base64url').toString('utf8')).alg;
  } catch {
    return undefined;
  }
}

@Injectable()
class JwtStrategy extends PassportStrategy(Strategy) {
  constructor() {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_req: unknown, rawJwt: string, done: (err: unknown, key?: unknown) => void) => {
        const alg = tokenAlgorithm(rawJwt);
        const key = alg ? KEYS[alg] : undefined;
        if (key) done(null, key);
        else done(new Error('no key for the token algorithm'));
      },
      algorithms: ['ES256', 'RS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
  }

  validate(payload: Record<string, unknown>): Record<string, unknown> {
    return payload;
  }
}

@Injectable()
class ScopeGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const user = context.switchToHttp().getRequest().user ?? {};
    const scopes = typeof user.scope === 'string' ? user.scope.split(' ') : [];
    if (!scopes.includes(READ_SCOPE)) throw new ForbiddenException(`scope ${READ_SCOPE} required`);
    return true;
  }
}

@Controller('students')
class StudentsController {
  @Get(':id')
  @UseGuards(AuthGuard('jwt'), ScopeGuard)
  get(@Param('id') id: string) {
    return {
      id,
      name: 'Ada Lovelace',
      email: 'ada@example.org',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
    };
  }
}

@Controller('health')
class HealthController {
  @Get('ready')
  ready() {
    return { status: 'UP' };
  }
}

@Module({
  imports: [PassportModule],
  controllers: [StudentsController, HealthController],
  providers: [JwtStrategy],
})
class AppModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
    logger: ['error', 'warn'],
  });
  await app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1');
}

bootstrap().catch((err) => {
  console.error(err);
  process.exit(1);
});
