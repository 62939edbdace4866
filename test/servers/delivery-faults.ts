// The duplicate and reorder fault switches the event sides of the protocol
// test servers share (SQS, Vault's event websocket, Pub/Sub): what one
// published item becomes on the wire.

export interface DeliveryFaults {
  /** The next N items are delivered twice. */
  duplicate: number;
  /** The next N items are held, then delivered together in reverse order. */
  reorder: number;
}

/**
 * The items to deliver now for `item`: itself, itself twice, nothing (held
 * for a reorder), or every held item in reverse order once the last of a
 * reorder arrives. Counts the switches down; `held` keeps the held batches.
 */
export function deliveries<T>(faults: DeliveryFaults, held: T[][], item: T): T[] {
  let batch = [item];
  if (faults.duplicate > 0) {
    faults.duplicate--;
    batch = [item, item];
  }
  if (faults.reorder === 0) return batch;
  faults.reorder--;
  held.push(batch);
  if (faults.reorder > 0) return [];
  return held.splice(0).reverse().flat();
}
