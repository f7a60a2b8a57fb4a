/** Estimates how many tokens a text costs a model. Must be pure: the estimate is stored with the message. */
export type TokenEstimator = (text: string) => number;

/** About four characters per token for English prose and code: cheap, and pessimistic enough for a bound. */
export const estimateTokens: TokenEstimator = (text) => Math.ceil(text.length / 4);
