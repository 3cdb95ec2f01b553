import { freePort, startFirestoreEmulator, startPubsubEmulator, type RunningEmulator } from '../../local/emulators.js';

/**
 * Shared emulators for the whole test run. CI starts them before `npm test` and exports
 * FIRESTORE_EMULATOR_HOST, FIRESTORE_TRIGGER_TARGET (the host:port the Firestore emulator delivers trigger
 * events to) and PUBSUB_EMULATOR_HOST; otherwise the first test that needs one starts it and the root
 * hook stops it at the end. Tests use a fresh project id each, since triggers cannot be unregistered.
 */
export interface FirestoreForTests {
  host: string;
  /** host:port on which a trigger relay must listen to receive this emulator's events. */
  triggerTarget: string;
}

const started: RunningEmulator[] = [];
let firestore: Promise<FirestoreForTests> | undefined;
let pubsub: Promise<string> | undefined;

export function firestoreEmulator(): Promise<FirestoreForTests> {
  firestore ??= (async () => {
    const host = process.env['FIRESTORE_EMULATOR_HOST'];
    const target = process.env['FIRESTORE_TRIGGER_TARGET'];
    if (host && target) return { host, triggerTarget: target };
    const triggerTarget = `127.0.0.1:${await freePort()}`;
    const emu = await startFirestoreEmulator({ projectId: 'demo-consent-erasure', functionsEmulator: triggerTarget });
    started.push(emu);
    return { host: emu.host, triggerTarget };
  })();
  return firestore;
}

export function pubsubEmulator(): Promise<string> {
  pubsub ??= (async () => {
    const host = process.env['PUBSUB_EMULATOR_HOST'];
    if (host) return host;
    const emu = await startPubsubEmulator({});
    started.push(emu);
    return emu.host;
  })();
  return pubsub;
}

let counter = 0;
/** A project id no other test in this run uses (emulator state and triggers are per project). */
export function uniqueProjectId(label: string): string {
  counter += 1;
  return `demo-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 12)}-${process.pid}-${counter}`;
}

export async function stopStartedEmulators(): Promise<void> {
  await Promise.all(started.splice(0).map((e) => e.stop()));
}
