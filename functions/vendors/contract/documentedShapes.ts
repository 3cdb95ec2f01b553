/**
 * The documented answers the live contract probe compares with (`consent-erasure vendors check`, the poller's
 * daily check), embedded because a deployed function has no test/ folder. Each is a copy of a transcribed
 * fixture's response (test/fixtures/vendors/<file>, which names its source); a unit test keeps them equal
 * (test/unit/vendors/contract/documentedShapes.test.ts). Where documents disagree, every variant is listed.
 */

/** One documented answer: the fixture it is copied from, its status and its body (absent when none is documented). */
export interface DocumentedAnswer {
  fixture: string;
  status: number;
  body?: unknown;
}

export const DOCUMENTED_ANSWERS = {
  mparticleDiscovery: [
    {
      fixture: 'opendsr/discovery-mparticle-v3.json',
      status: 200,
      body: {
        api_version: '3.0',
        supported_identities: [
          { identity_type: 'android_advertising_id', identity_format: 'raw' },
          { identity_type: 'android_id', identity_format: 'raw' },
          { identity_type: 'controller_customer_id', identity_format: 'raw' },
          { identity_type: 'email', identity_format: 'raw' },
          { identity_type: 'fire_advertising_id', identity_format: 'raw' },
          { identity_type: 'ios_advertising_id', identity_format: 'raw' },
          { identity_type: 'ios_vendor_id', identity_format: 'raw' },
          { identity_type: 'microsoft_advertising_id', identity_format: 'raw' },
          { identity_type: 'microsoft_publisher_id', identity_format: 'raw' },
          { identity_type: 'roku_advertising_id', identity_format: 'raw' },
          { identity_type: 'roku_publisher_id', identity_format: 'raw' },
        ],
        supported_subject_request_types: ['access', 'erasure', 'portability'],
        processor_certificate: 'https://static.mparticle.com/dsr/opendsr_cert.pem',
      },
    },
  ],
  appsflyerDiscovery: [
    {
      fixture: 'appsflyer/discovery-openapi.json',
      status: 200,
      body: {
        api_version: '0.1',
        supported_subject_request_types: 'erasure',
        supported_identities: [{ identity_type: 'customer_user_id', identity_format: 'raw' }],
        processor_certificate: 'https://hq1.appsflyer.com/api/gdpr/v1/certificate',
      },
    },
    {
      fixture: 'appsflyer/discovery-openapi-stub.json',
      status: 200,
      body: {
        api_version: '0.1',
        supported_subject_request_types: 'erasure',
        supported_identities: [{ identity_type: 'customer_user_id', identity_format: 'raw' }],
        processor_certificate: 'https://hq1.appsflyer.com/api/gdpr/v1/stub/certificate',
      },
    },
    {
      fixture: 'opendsr/discovery-spec-v2.json',
      status: 200,
      body: {
        api_version: '2.0',
        supported_identities: [
          { identity_type: 'email', identity_format: 'raw' },
          { identity_type: 'email', identity_format: 'sha256' },
        ],
        supported_subject_request_types: ['erasure'],
        processor_certificate: 'https://exampleprocessor.com/cert.pem',
      },
    },
  ],
  appsflyerStubCreate: [
    {
      fixture: 'appsflyer/create-openapi-stub.json',
      status: 201,
      body: {
        subject_request_id: 'a7551968-d5d6-44b2-9831-815ac9017798',
        original_request_id: 'a7551968-d5d6-44b2-9831-815ac9017798',
        expected_completion_time: '2018-11-01T15:00:01Z',
        received_time: '2018-10-02T15:00:01Z',
        encoded_request: '<BASE64 ENCODED REQUEST>',
        info: '',
      },
    },
    {
      fixture: 'appsflyer/create-openapi.json',
      status: 201,
      body: {
        subject_request_id: 'a7551968-d5d6-44b2-9831-815ac9017798',
        original_request_id: 'a7551968-d5d6-44b2-9831-815ac9017798',
        expected_completion_time: '2018-11-01T15:00:01Z',
        received_time: '2018-10-02T15:00:01Z',
        encoded_request: '<BASE64 ENCODED REQUEST>',
        info: '',
      },
    },
  ],
  appsflyerStubStatus: [
    {
      fixture: 'appsflyer/status-openapi-stub-pending.json',
      status: 200,
      body: {
        subject_request_id: 'a7551968-d5d6-44b2-9831-815ac9017798',
        controller_id: 'example_controller_id',
        expected_completion_time: '2018-11-01T15:00:01Z',
        request_status: 'pending',
      },
    },
    {
      fixture: 'appsflyer/status-openapi-pending.json',
      status: 200,
      body: {
        subject_request_id: 'a7551968-d5d6-44b2-9831-815ac9017798',
        controller_id: 'example_controller_id',
        expected_completion_time: '2018-11-01T15:00:01Z',
        request_status: 'pending',
      },
    },
    {
      fixture: 'appsflyer/status-opendsr-spec-in-progress.json',
      status: 200,
      body: {
        controller_id: 'example_controller_id',
        expected_completion_time: '2018-11-01T15:00:01Z',
        subject_request_id: 'a7551968-d5d6-44b2-9831-815ac9017798',
        request_status: 'in_progress',
        api_version: '2.0',
        results_url: 'https://exampleprocessor.com/secure/d188d4ba-12db-48a0-898c-cd0f8ba7b345',
        results_count: 103,
      },
    },
  ],
  appsflyerStubCancel: [
    {
      fixture: 'appsflyer/cancel-openapi-stub.json',
      status: 202,
      body: '',
    },
    {
      fixture: 'appsflyer/error-400-e211-cannot-cancel.json',
      status: 400,
      body: { code: 400, message: 'Unable to cancel request with invalid status', af_gdpr_code: 'e211' },
    },
  ],
} as const satisfies Record<string, readonly DocumentedAnswer[]>;
