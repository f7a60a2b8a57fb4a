import { createLeaky } from './leaky.js';
import { createOurs } from './ours.js';
import { createSeedFix } from './seed-fix.js';
import type { Contender, ContenderOptions } from './types.js';

export type { Contender, ContenderOptions } from './types.js';
export { createLeaky, createOurs, createSeedFix };

export const CONTENDERS = ['leaky', 'seed-fix', 'ours'] as const;
export type ContenderName = (typeof CONTENDERS)[number];

export function createContender(name: ContenderName, options: ContenderOptions): Contender {
  switch (name) {
    case 'leaky':
      return createLeaky(options);
    case 'seed-fix':
      return createSeedFix(options);
    case 'ours':
      return createOurs(options);
  }
}
