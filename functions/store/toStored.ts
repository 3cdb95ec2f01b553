import { z } from 'zod';

const StoredRow = z.object({
  id: z.coerce.string(),
  request_id: z.coerce.string(),
  customer_id: z.string(),
  submit_attempts: z.coerce.number().int(),
  next_check_at: z.coerce.date().nullable(),
});
/** A row as a submission statement left it. */
export interface StoredSubmission {
  deletionId: string;
  requestId: string;
  customerId: string;
  submitAttempts: number;
  nextCheckAt: Date | null;
}

export function toStored(rows: unknown[]): StoredSubmission[] {
  return rows.map((r) => {
    const row = StoredRow.parse(r);
    return {
      deletionId: row.id,
      requestId: row.request_id,
      customerId: row.customer_id,
      submitAttempts: row.submit_attempts,
      nextCheckAt: row.next_check_at,
    };
  });
}

