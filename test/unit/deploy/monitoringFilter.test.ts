import assert from 'node:assert/strict';
import { loadTerraform } from './deployFiles.js';
import { checkMonitoringFilter } from './monitoringFilter.js';

/** Every attribute named *filter in a value as hcl2-parser gives it, with its path. */
function filters(value: unknown, path: string): Array<{ path: string; raw: unknown }> {
  if (Array.isArray(value)) return value.flatMap((v, i) => filters(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => (/filter$/.test(k) && typeof v === 'string' ? [{ path: `${path}.${k}`, raw: v }] : filters(v, `${path}.${k}`)));
}

describe('Cloud Monitoring filters', () => {
  it('accepts the documented forms', () => {
    for (const f of [
      'resource.type = "gce_instance"',
      'metric.type = "compute.googleapis.com/instance/cpu/usage_time" AND metric.labels.instance_name = monitoring.regex.full_match("gke-(hipster|nginx).*")',
      'project = "project-id-or-number" OR project = "another-id-or-number"',
      'metric.type = "appengine.googleapis.com/http/server/response_count" AND metric.label.response_code < 600 AND metric.label.response_code >= 500',
      'resource.labels.zone = starts_with("europe-") AND NOT (resource.label.zone = ends_with("-b"))',
      'resource.labels.subscription_id=one_of("a-drain", "b-drain")',
    ])
      assert.doesNotThrow(() => checkMonitoringFilter(f), f);
  });

  it("refuses the Logging query language's value list, and other departures, naming where", () => {
    assert.throws(
      () => checkMonitoringFilter('metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages" AND resource.labels.subscription_id=("a" OR "b")'),
      /"resource\.labels\.subscription_id = \(" is Logging query syntax; .*use one_of\("a", "b"\).* at column 111/,
    );
    assert.throws(() => checkMonitoringFilter('resource.type "x"'), /expected a comparison operator after resource\.type/);
    assert.throws(() => checkMonitoringFilter('jsonPayload.event = "x"'), /expected a selector/);
    assert.throws(() => checkMonitoringFilter('resource.type = "x" and metric.type = "y"'), /expected AND, OR or the end, found "and"/);
    assert.throws(() => checkMonitoringFilter('metric.label.code > "500"'), /">" compares numbers/);
    assert.throws(() => checkMonitoringFilter('resource.type = "x'), /unterminated string/);
    assert.throws(() => checkMonitoringFilter('resource.type = one_of()'), /expected a quoted string/);
  });

  it('checks every Monitoring filter in infra/ (each instance of each alert policy), and finds no other kind but log-based metrics', () => {
    const tf = loadTerraform();
    let checked = 0;
    for (const [file, parsed] of Object.entries(tf.parsed)) {
      const resources = (parsed['resource'] ?? {}) as Record<string, Record<string, unknown[]>>;
      for (const [type, byName] of Object.entries(resources))
        for (const [name, bodies] of Object.entries(byName)) {
          const found = filters(bodies, `${type}.${name}`);
          if (found.length === 0) continue;
          if (type === 'google_logging_metric') continue; // a Logging query: another language
          assert.match(type, /^google_monitoring_/, `infra/${file}: ${type}.${name} has a filter this test does not know the language of`);
          // Each found filter, read through every evaluated instance: interpolations resolved as Terraform would.
          for (const instance of Object.values(tf.instances(type, name)))
            for (const f of found) {
              const text = f.path
                .slice(`${type}.${name}[0]`.length)
                .split(/\.|\[(\d+)\]/)
                .filter((x) => x !== undefined && x !== '')
                .reduce<unknown>((v, k) => (v as Record<string, unknown>)[/^\d+$/.test(k) ? Number(k) : k], instance);
              assert.equal(typeof text, 'string', f.path);
              assert.doesNotThrow(() => checkMonitoringFilter(text as string), `${f.path}: ${String(text)}`);
              checked++;
            }
        }
    }
    assert.ok(checked >= 5, `only ${checked} filters checked`);
  });
});
