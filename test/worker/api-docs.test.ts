/**
 * The routes' schemas at work (src/worker/api-docs.ts): an answer is checked against its schema before
 * it is sent (a documented field of the wrong type is a bug: 500), fields it does not name go out as
 * they are, and a request is validated by the same schemas, one problem per field.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { registerApiDocs } from '../../src/worker/api-docs.js';
import { answerError } from '../../src/worker/errors.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function appWith(answer: unknown) {
  app = Fastify();
  app.setErrorHandler(answerError(1_000));
  await registerApiDocs(app, { version: 'test' });
  app.post(
    '/thing',
    {
      schema: {
        summary: 'a thing',
        body: z.object({ name: z.string({ error: 'name must be a string' }) }).meta({ title: 'thing' }),
        response: { 200: z.object({ count: z.number() }) },
      },
    },
    async () => answer,
  );
  return app;
}

describe('the routes’ schemas', () => {
  it('send an answer as it is when its documented fields match, extra fields included', async () => {
    const answer = await (await appWith({ count: 3, extra: 'kept' })).inject({ method: 'POST', url: '/thing', payload: { name: 'a' } });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ count: 3, extra: 'kept' });
  });

  it('answer 500 when a documented field does not match (a bug, never sent as if it were right)', async () => {
    const answer = await (await appWith({ count: 'three' })).inject({ method: 'POST', url: '/thing', payload: { name: 'a' } });
    expect(answer.statusCode).toBe(500);
    expect(answer.json()).toEqual({
      error: 'internal error',
      details: [{ problem: expect.stringContaining('does not match its documented schema') }],
    });
  });

  it('validate the request with the same schema: 400, named by its title, one problem per field; no body reads as {}', async () => {
    const served = await appWith({ count: 1 });
    const wrong = await served.inject({ method: 'POST', url: '/thing', payload: { name: 42 } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toEqual({ error: 'invalid thing', details: [{ field: 'name', problem: 'name must be a string' }] });
    const none = await served.inject({ method: 'POST', url: '/thing' });
    expect(none.statusCode).toBe(400);
    expect(none.json().details).toEqual([{ field: 'name', problem: 'name must be a string' }]);
  });
});
