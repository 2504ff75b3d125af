// Every GraphQL operation the dashboard sends. GraphQL Code Generator reads this file and
// writes typed documents to src/gql/ (see codegen.ts): results and variables are typed
// from ../schema.graphql, so a schema change that breaks the dashboard fails `npm run build`.
import { graphql } from "../gql";

export const SignupOpenQuery = graphql(`
  query SignupOpen {
    signupOpen
  }
`);

export const MeQuery = graphql(`
  query Me {
    me {
      id
      email
      role
      disabled
    }
  }
`);

export const AuthFields = graphql(`
  fragment AuthFields on AuthPayload {
    accessToken
    refreshToken
    expiresIn
    user {
      id
      email
      role
    }
  }
`);

export const LoginMutation = graphql(`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      ...AuthFields
    }
  }
`);

export const RegisterMutation = graphql(`
  mutation Register($email: String!, $password: String!) {
    register(email: $email, password: $password) {
      ...AuthFields
    }
  }
`);

export const RefreshMutation = graphql(`
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      ...AuthFields
    }
  }
`);

export const LogoutMutation = graphql(`
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`);

export const RequestResetMutation = graphql(`
  mutation RequestReset($email: String!) {
    requestPasswordReset(email: $email)
  }
`);

export const ResetPasswordMutation = graphql(`
  mutation ResetPassword($token: String!, $password: String!) {
    resetPassword(token: $token, password: $password)
  }
`);

export const ChangePasswordMutation = graphql(`
  mutation ChangePassword($oldPassword: String!, $newPassword: String!) {
    changePassword(oldPassword: $oldPassword, newPassword: $newPassword) {
      ...AuthFields
    }
  }
`);

export const JobRowFields = graphql(`
  fragment JobRowFields on Job {
    id
    name
    type
    timezone
    paused
    nextRunAt
    schedule {
      kind
      cron
      description
    }
    owner {
      id
      email
    }
    lastRun {
      id
      status
      startedAt
      finishedAt
    }
    stats {
      total
      active
      successRate
      recent {
        status
        durationSeconds
      }
    }
  }
`);

export const JobsQuery = graphql(`
  query Jobs($first: Int!, $after: String, $filter: JobFilterInput) {
    feedPosition
    jobs(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          ...JobRowFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const JobEventsSubscription = graphql(`
  subscription JobEvents($afterEventId: ID) {
    jobEvents(afterEventId: $afterEventId) {
      eventId
      kind
      jobId
      runId
      status
    }
  }
`);

export const OccurrenceFields = graphql(`
  fragment OccurrenceFields on Occurrence {
    utc
    local
    timezone
    abbreviation
    note
    dstShifted
    zones {
      timezone
      local
    }
  }
`);

export const PreviewScheduleQuery = graphql(`
  query PreviewSchedule(
    $cron: String!
    $timezone: String!
    $count: Int!
    $from: DateTime
    $zones: [String!]
  ) {
    previewSchedule(cron: $cron, timezone: $timezone, count: $count, from: $from, zones: $zones) {
      description
      timezone
      occurrences {
        ...OccurrenceFields
      }
    }
  }
`);

export const JobEditFields = graphql(`
  fragment JobEditFields on Job {
    id
    name
    description
    type
    timezone
    paused
    timeoutSeconds
    concurrency
    misfire
    misfireLimit
    startingDeadlineSeconds
    version
    schedule {
      kind
      cron
      timezone
      everySeconds
      at
      description
    }
    http {
      method
      url
      headers {
        name
        value
        secret
      }
      body
      bodyIsJson
    }
    script {
      command
      args
      cwd
      env {
        name
        value
      }
    }
    retry {
      maxAttempts
      initialDelay
      maxDelay
      multiplier
    }
  }
`);

export const JobForEditQuery = graphql(`
  query JobForEdit($id: ID!) {
    job(id: $id) {
      ...JobEditFields
    }
  }
`);

export const RunRowFields = graphql(`
  fragment RunRowFields on Run {
    id
    status
    trigger
    attempt
    scheduledFor
    queuedAt
    startedAt
    finishedAt
    durationMs
    httpStatus
    exitCode
    error
  }
`);

export const JobDetailQuery = graphql(`
  query JobDetail(
    $id: ID!
    $zones: [String!]
    $first: Int!
    $after: String
    $status: [RunStatus!]
  ) {
    feedPosition
    job(id: $id) {
      ...JobEditFields
      nextRunAt
      owner {
        id
        email
      }
      createdAt
      updatedAt
      nextRuns(count: 5, zones: $zones) {
        ...OccurrenceFields
      }
      stats {
        total
        succeeded
        failed
        active
        successRate
        recent {
          status
          durationSeconds
        }
      }
      runs(first: $first, after: $after, status: $status) {
        edges {
          cursor
          node {
            ...RunRowFields
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const RunEventsSubscription = graphql(`
  subscription RunEvents($jobId: ID, $afterEventId: ID) {
    runEvents(jobId: $jobId, afterEventId: $afterEventId) {
      eventId
      kind
      jobId
      runId
      status
    }
  }
`);

export const JobsNamedQuery = graphql(`
  query JobsNamed($search: String!) {
    jobs(first: 50, filter: { search: $search }) {
      edges {
        node {
          id
          name
          ownerId
        }
      }
    }
  }
`);

export const RunsQuery = graphql(`
  query Runs($first: Int!, $after: String, $status: [RunStatus!], $since: DateTime, $until: DateTime) {
    feedPosition
    runs(first: $first, after: $after, status: $status, since: $since, until: $until) {
      edges {
        cursor
        node {
          ...RunRowFields
          jobId
          job {
            id
            name
            type
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const RunDetailQuery = graphql(`
  query RunDetail($id: ID!) {
    feedPosition
    run(id: $id) {
      ...RunRowFields
      jobId
      runAfter
      workerId
      output
      logLines
      logTruncated
      cancelRequested
      startLagMs
      rootRunId
      job {
        id
        name
        type
        timezone
      }
      attempts {
        ...RunRowFields
      }
    }
  }
`);

export const RunLogSubscription = graphql(`
  subscription RunLog($runId: ID!, $afterSeq: Int!) {
    runLog(runId: $runId, afterSeq: $afterSeq) {
      seq
      ts
      stream
      text
    }
  }
`);

export const CreateJobMutation = graphql(`
  mutation CreateJob($input: JobInput!) {
    createJob(input: $input) {
      id
    }
  }
`);

export const UpdateJobMutation = graphql(`
  mutation UpdateJob($id: ID!, $input: JobInput!) {
    updateJob(id: $id, input: $input) {
      id
      version
    }
  }
`);

export const DeleteJobMutation = graphql(`
  mutation DeleteJob($id: ID!) {
    deleteJob(id: $id)
  }
`);

export const PauseJobMutation = graphql(`
  mutation PauseJob($id: ID!) {
    pauseJob(id: $id) {
      id
      paused
      nextRunAt
    }
  }
`);

export const ResumeJobMutation = graphql(`
  mutation ResumeJob($id: ID!, $catchUp: Boolean!) {
    resumeJob(id: $id, catchUp: $catchUp) {
      id
      paused
      nextRunAt
    }
  }
`);

export const TriggerJobMutation = graphql(`
  mutation TriggerJob($id: ID!) {
    triggerJob(id: $id) {
      id
      status
    }
  }
`);

export const CancelRunMutation = graphql(`
  mutation CancelRun($id: ID!) {
    cancelRun(id: $id) {
      id
      status
      cancelRequested
    }
  }
`);

export const RetryRunMutation = graphql(`
  mutation RetryRun($id: ID!) {
    retryRun(id: $id) {
      id
      status
    }
  }
`);

export const WorkersQuery = graphql(`
  query Workers {
    workers {
      id
      host
      pid
      version
      startedAt
      lastHeartbeatAt
      stoppedAt
      running
      capacity
      alive
    }
  }
`);

export const UsersQuery = graphql(`
  query Users {
    users {
      id
      email
      role
      disabled
      createdAt
      lastLoginAt
    }
  }
`);

export const SetUserRoleMutation = graphql(`
  mutation SetUserRole($userId: ID!, $role: Role!) {
    setUserRole(userId: $userId, role: $role) {
      id
      role
    }
  }
`);

export const SetUserDisabledMutation = graphql(`
  mutation SetUserDisabled($userId: ID!, $disabled: Boolean!) {
    setUserDisabled(userId: $userId, disabled: $disabled) {
      id
      disabled
    }
  }
`);

export const CreateUserMutation = graphql(`
  mutation CreateUser($email: String!, $password: String!, $role: Role!) {
    createUser(email: $email, password: $password, role: $role) {
      id
      email
      role
    }
  }
`);

export const ApiTokensQuery = graphql(`
  query ApiTokens($allUsers: Boolean!) {
    apiTokens(allUsers: $allUsers) {
      id
      name
      prefix
      scope
      userId
      createdAt
      expiresAt
      lastUsedAt
      revokedAt
    }
  }
`);

export const CreateApiTokenMutation = graphql(`
  mutation CreateApiToken($name: String!, $scope: TokenScope!) {
    createApiToken(name: $name, scope: $scope) {
      token
      apiToken {
        id
        name
        prefix
        scope
      }
    }
  }
`);

export const RevokeApiTokenMutation = graphql(`
  mutation RevokeApiToken($id: ID!) {
    revokeApiToken(id: $id) {
      id
      revokedAt
    }
  }
`);

export const AuditLogQuery = graphql(`
  query AuditLog($first: Int!, $before: ID) {
    auditLog(first: $first, before: $before) {
      id
      actorEmail
      action
      targetType
      targetId
      detail
      ip
      createdAt
    }
  }
`);

// ---- heartbeat monitors ----------------------------------------------------------------------

export const MonitorRowFields = graphql(`
  fragment MonitorRowFields on Monitor {
    id
    name
    cron
    timezone
    periodSeconds
    graceSeconds
    maxDurationSeconds
    state
    ranTooLong
    paused
    lastPingAt
    lastStartAt
    createdAt
    updatedAt
    owner {
      id
      email
    }
  }
`);

export const MonitorsQuery = graphql(`
  query Monitors($first: Int!, $zones: [String!]) {
    feedPosition
    monitors(first: $first) {
      edges {
        cursor
        node {
          ...MonitorRowFields
          nextExpected(zones: $zones) {
            ...OccurrenceFields
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const MonitorDetailQuery = graphql(`
  query MonitorDetail($id: ID!, $zones: [String!], $pings: Int!) {
    feedPosition
    monitor(id: $id) {
      ...MonitorRowFields
      pingUrl
      nextExpected(zones: $zones) {
        ...OccurrenceFields
      }
      pings(first: $pings) {
        id
        at
        kind
        exitStatus
        body
        remoteAddr
        userAgent
      }
    }
  }
`);

export const MonitorForEditQuery = graphql(`
  query MonitorForEdit($id: ID!) {
    monitor(id: $id) {
      ...MonitorRowFields
    }
  }
`);

export const MonitorEventsSubscription = graphql(`
  subscription MonitorEvents($afterEventId: ID) {
    monitorEvents(afterEventId: $afterEventId) {
      eventId
      monitorId
      change
      fromState
      toState
    }
  }
`);

export const CreateMonitorMutation = graphql(`
  mutation CreateMonitor($input: MonitorInput!) {
    createMonitor(input: $input) {
      id
    }
  }
`);

export const UpdateMonitorMutation = graphql(`
  mutation UpdateMonitor($id: ID!, $input: MonitorInput!) {
    updateMonitor(id: $id, input: $input) {
      id
    }
  }
`);

export const DeleteMonitorMutation = graphql(`
  mutation DeleteMonitor($id: ID!) {
    deleteMonitor(id: $id)
  }
`);

export const PauseMonitorMutation = graphql(`
  mutation PauseMonitor($id: ID!) {
    pauseMonitor(id: $id) {
      id
      paused
      state
    }
  }
`);

export const ResumeMonitorMutation = graphql(`
  mutation ResumeMonitor($id: ID!) {
    resumeMonitor(id: $id) {
      id
      paused
      state
    }
  }
`);

// ---- alerting: channels, rules, incidents ----------------------------------------------------

export const AlertChannelFields = graphql(`
  fragment AlertChannelFields on AlertChannel {
    id
    name
    kind
    shared
    ownerId
    address
    url
    createdAt
  }
`);

export const AlertRulesFields = graphql(`
  fragment AlertRulesFields on AlertRules {
    channelIds
    onFailure
    failureThreshold
    onTimedOut
    onLost
    onMissed
    onSkipped
    onRecovery
    remindEveryHours
  }
`);

export const AlertSettingsQuery = graphql(`
  query AlertSettings {
    alertChannels {
      ...AlertChannelFields
    }
    defaultAlertRules {
      ...AlertRulesFields
    }
  }
`);

export const JobAlertRulesQuery = graphql(`
  query JobAlertRules($jobId: ID!) {
    job(id: $jobId) {
      id
      owner {
        id
      }
    }
    jobAlertRules(jobId: $jobId) {
      ...AlertRulesFields
    }
  }
`);

export const CreateAlertChannelMutation = graphql(`
  mutation CreateAlertChannel($input: AlertChannelInput!) {
    createAlertChannel(input: $input) {
      signingSecret
      channel {
        ...AlertChannelFields
      }
    }
  }
`);

export const DeleteAlertChannelMutation = graphql(`
  mutation DeleteAlertChannel($id: ID!) {
    deleteAlertChannel(id: $id)
  }
`);

export const SendTestNotificationMutation = graphql(`
  mutation SendTestNotification($channelId: ID!) {
    sendTestNotification(channelId: $channelId) {
      ok
      error
    }
  }
`);

export const SetDefaultAlertRulesMutation = graphql(`
  mutation SetDefaultAlertRules($rules: AlertRulesInput!) {
    setDefaultAlertRules(rules: $rules) {
      ...AlertRulesFields
    }
  }
`);

export const SetJobAlertRulesMutation = graphql(`
  mutation SetJobAlertRules($jobId: ID!, $rules: AlertRulesInput) {
    setJobAlertRules(jobId: $jobId, rules: $rules) {
      ...AlertRulesFields
    }
  }
`);

export const MonitorAlertRulesQuery = graphql(`
  query MonitorAlertRules($monitorId: ID!) {
    monitor(id: $monitorId) {
      id
      owner {
        id
      }
    }
    monitorAlertRules(monitorId: $monitorId) {
      ...AlertRulesFields
    }
  }
`);

export const SetMonitorAlertRulesMutation = graphql(`
  mutation SetMonitorAlertRules($monitorId: ID!, $rules: AlertRulesInput) {
    setMonitorAlertRules(monitorId: $monitorId, rules: $rules) {
      ...AlertRulesFields
    }
  }
`);

export const IncidentFields = graphql(`
  fragment IncidentFields on Incident {
    id
    subject
    subjectId
    name
    kind
    status
    summary
    failures
    openedAt
    lastFailureAt
    resolvedAt
  }
`);

export const IncidentsQuery = graphql(`
  query Incidents(
    $status: IncidentStatus
    $subject: IncidentSubject
    $jobId: ID
    $monitorId: ID
    $first: Int!
    $after: String
  ) {
    feedPosition
    incidents(
      status: $status
      subject: $subject
      jobId: $jobId
      monitorId: $monitorId
      first: $first
      after: $after
    ) {
      edges {
        node {
          ...IncidentFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);
