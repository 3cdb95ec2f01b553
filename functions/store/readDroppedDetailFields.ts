import { z } from 'zod';
import type { Queryable } from './pool.js';
import { mapDatabaseError } from './errors.js';

const SQL = `
select kind, field, dropped::text as dropped, first_seen_at, last_seen_at
  from deletion_event_dropped_field
 order by kind, field`;

const RowSchema = z.object({
  kind: z.string(),
  field: z.string(),
  dropped: z.coerce.number(),
  first_seen_at: z.coerce.date(),
  last_seen_at: z.coerce.date(),
});

/** A detail field the event log's allow-list dropped before chaining: how often, first and last seen. */
export interface DroppedDetailField {
  kind: string;
  field: string;
  dropped: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

/** Every detail field the allow-list (domain/eventDetailFields.ts) dropped from an event, with counts. */
export async function readDroppedDetailFields(db: Queryable): Promise<DroppedDetailField[]> {
  try {
    const result = await db.query(SQL);
    return result.rows.map((raw) => {
      const r = RowSchema.parse(raw);
      return { kind: r.kind, field: r.field, dropped: r.dropped, firstSeenAt: r.first_seen_at, lastSeenAt: r.last_seen_at };
    });
  } catch (err) {
    throw mapDatabaseError(err, 'reading dropped event detail fields');
  }
}
