import { AlertSchema, type Alert, type AlertItem } from '../alerts/AlertMessage.js';
import { capText } from '../text.js';
import { PermanentError } from '../errors.js';
import { formatIssues } from '../events/pubsub.js';
import type { Queryable } from '../store/pool.js';
import { readAlert, type StoredAlert, type StoredAlertItem } from '../store/readAlert.js';

/** Caps of the texts an email shows: ids fit whole (a Firestore id is at most 1,500 bytes); details are cut. */
const ID_CAP = 1600;
const ITEM_DETAIL_CAP = 500;
const DETAIL_CAP = 2000;

/** What the email says about the call that met a vendor incident for this deletion. */
function callNote(kind: string, item: StoredAlertItem): string | undefined {
  if (item.call === 'check') return 'met by a status check of this operation';
  if (item.call === 'submit') {
    const what = kind === 'contract_violation' ? 'the create call was answered outside the contract' : 'the create call was refused';
    return item.operationId === null ? `${what}: no deletion at the vendor yet` : what;
  }
  return undefined;
}

function itemOf(kind: string, item: StoredAlertItem): AlertItem {
  const note = callNote(kind, item);
  const detail = note ?? item.lastError ?? undefined;
  return {
    deletionId: item.deletionId,
    customerId: capText(item.customerId, ID_CAP),
    vendor: capText(item.vendor, 200),
    operationId: item.operationId === null ? null : capText(item.operationId, ID_CAP),
    state: capText(item.state, 50),
    since: item.since.toISOString(),
    deadlineAt: item.deadlineAt ? item.deadlineAt.toISOString() : null,
    ...(detail ? { detail: capText(detail, ITEM_DETAIL_CAP) } : {}),
  };
}

/** The stored alert as the email shows it, every text capped. */
export function alertOf(stored: StoredAlert): Alert {
  const parsed = AlertSchema.safeParse({
    alertId: stored.id,
    kind: stored.kind,
    vendor: stored.vendor === null ? null : capText(stored.vendor, 200),
    incidentKey: capText(stored.incidentKey, 300),
    escalation: stored.escalation,
    raisedAt: stored.raisedAt.toISOString(),
    since: stored.since.toISOString(),
    summary: capText(stored.summary, 1000),
    ...(stored.detail !== null ? { detail: capText(stored.detail, DETAIL_CAP) } : {}),
    items: stored.items.map((i) => itemOf(stored.kind, i)),
    totalItems: Math.max(stored.totalItems, stored.items.length),
  });
  // A row this version cannot show (a kind it does not know): retrying would not change it.
  if (!parsed.success) throw new PermanentError(`alert ${stored.id} cannot be shown: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** The alert with this id, rebuilt from the database (its deletions as they stand now), or undefined when there is none. */
export async function loadAlert(db: Queryable, alertId: string): Promise<Alert | undefined> {
  const stored = await readAlert(db, alertId);
  return stored ? alertOf(stored) : undefined;
}
