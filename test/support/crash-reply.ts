/** The reply of the crash tests' agents: one observation per item it answers, titled with the item's id. */
export function replyNaming(ids: readonly string[]): string {
  return ids.map((id) => `<observation><type>change</type><title>${id}</title></observation>`).join('\n');
}
