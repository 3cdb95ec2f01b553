import type pg from 'pg';
import { eventDetailFieldRows } from '../domain/eventDetailFields.js';

// In one transaction: the table becomes exactly the list (rows the code no longer names go, new ones come).
const SQL = `
with wanted as (
  select * from unnest($1::text[], $2::text[]) as w(kind, field)
), gone as (
  delete from deletion_event_detail_field f
   where not exists (select 1 from wanted w where w.kind = f.kind and w.field = f.field)
)
insert into deletion_event_detail_field (kind, field)
select kind, field from wanted
on conflict (kind, field) do nothing`;

/**
 * Copies the event-detail allow-list (domain/eventDetailFields.ts) into the database, where the event log's
 * chain trigger applies it. Run by `migrate` after the migrations, as the role that ran them.
 */
export async function syncEventDetailFields(client: pg.ClientBase, fields?: Readonly<Record<string, readonly string[]>>): Promise<number> {
  const rows = eventDetailFieldRows(fields);
  await client.query(SQL, [rows.map((r) => r.kind), rows.map((r) => r.field)]);
  return rows.length;
}
