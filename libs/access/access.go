// Package access is who may call what: the one policy of every tokenmeter
// RPC, by role, read by every service's interceptor.
package access

import (
	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The roles of people and tools, and the services' keys.
var (
	owner     = auth.RoleOwner
	admin     = auth.RoleAdmin
	viewer    = auth.RoleViewer
	teamAdmin = auth.RoleTeamAdmin
	launcher  = auth.RoleLauncher
	ingestion = auth.ServiceOf(auth.ServiceIngestion)
	reporting = auth.ServiceOf(auth.ServiceReporting)
	peer      = auth.ServiceOf(auth.ServiceLedger)
)

// Role sets: change the organisation, or one team of it; read it, or one team of it.
var (
	manage     = []auth.Role{owner, admin}
	manageTeam = []auth.Role{owner, admin, teamAdmin}
	read       = []auth.Role{owner, admin, viewer}
	readTeam   = []auth.Role{owner, admin, viewer, teamAdmin}
)

func with(roles []auth.Role, more ...auth.Role) []auth.Role {
	return append(append([]auth.Role(nil), roles...), more...)
}

// Policy maps every RPC's full method name to the roles that may call it.
// A team admin may call only unary RPCs whose requests name teams
// (auth.TeamFields), and then only for its own team. A service key may
// call only what its service calls.
var Policy = auth.Policy{
	// Ledger: ingestion launches, heartbeats and quotes; replicas forward
	// launches and heartbeats to a pool's owner; reporting reads balances.
	v1.LedgerService_Authorize_FullMethodName:          {ingestion, peer},
	v1.LedgerService_AuthorizeBatch_FullMethodName:     {ingestion},
	v1.LedgerService_RecordHeartbeat_FullMethodName:    {ingestion, peer},
	v1.LedgerService_QuoteLaunch_FullMethodName:        with(read, ingestion),
	v1.LedgerService_GetBalance_FullMethodName:         with(readTeam, reporting),
	v1.LedgerService_AddPack_FullMethodName:            manageTeam,
	v1.LedgerService_AdjustBalance_FullMethodName:      manageTeam,
	v1.LedgerService_ListPacks_FullMethodName:          readTeam,
	v1.LedgerService_ListTransactions_FullMethodName:   readTeam,
	v1.LedgerService_SetProductRate_FullMethodName:     manage,
	v1.LedgerService_ListProducts_FullMethodName:       read,
	v1.LedgerService_AssignUser_FullMethodName:         manageTeam,
	v1.LedgerService_UnassignUser_FullMethodName:       manageTeam,
	v1.LedgerService_MergeTeams_FullMethodName:         manage,
	v1.LedgerService_SetBudget_FullMethodName:          manageTeam,
	v1.LedgerService_ListBudgets_FullMethodName:        readTeam,
	v1.LedgerService_SetCapacity_FullMethodName:        manageTeam,
	v1.LedgerService_UseCapacity_FullMethodName:        with(manage, launcher),
	v1.LedgerService_ReturnCapacity_FullMethodName:     with(manage, launcher),
	v1.LedgerService_GrantSubscription_FullMethodName:  manage,
	v1.LedgerService_RevokeSubscription_FullMethodName: manage,
	v1.LedgerService_ListSubscriptions_FullMethodName:  readTeam,
	v1.LedgerService_ListTeams_FullMethodName:          read,
	// The personal-data setting is the organisation's owner's to change.
	v1.LedgerService_SetPersonalData_FullMethodName: {owner},
	v1.LedgerService_GetPersonalData_FullMethodName: read,
	v1.LedgerService_SetUserProfile_FullMethodName:  manage,
	v1.LedgerService_EraseUser_FullMethodName:       manage,
	v1.LedgerService_PlanAssignments_FullMethodName: manage,
	// User groups: an admin, or a team admin for its own team, changes them.
	v1.LedgerService_CreateUserGroup_FullMethodName:        manageTeam,
	v1.LedgerService_RenameUserGroup_FullMethodName:        manageTeam,
	v1.LedgerService_SetUserGroupProducts_FullMethodName:   manageTeam,
	v1.LedgerService_ChangeUserGroupMembers_FullMethodName: manageTeam,
	v1.LedgerService_DeleteUserGroup_FullMethodName:        manageTeam,
	v1.LedgerService_ListUserGroups_FullMethodName:         readTeam,
	// The time zone reports follow is the organisation's managers' to change.
	v1.LedgerService_SetTimeZone_FullMethodName: manage,
	v1.LedgerService_GetTimeZone_FullMethodName: read,

	// Ingestion: launchers for their team; launcher keys by admins,
	// access keys (people's roles) by owners.
	v1.IngestionService_Launch_FullMethodName:            {launcher},
	v1.IngestionService_Heartbeat_FullMethodName:         {launcher},
	v1.IngestionService_EndSession_FullMethodName:        {launcher},
	v1.IngestionService_IngestBatch_FullMethodName:       {launcher},
	v1.IngestionService_Quote_FullMethodName:             with(read, launcher),
	v1.IngestionService_CreateLauncherKey_FullMethodName: manage,
	v1.IngestionService_RevokeLauncherKey_FullMethodName: manage,
	v1.IngestionService_ListLauncherKeys_FullMethodName:  manage,
	v1.IngestionService_CreateAccessKey_FullMethodName:   {owner},
	v1.IngestionService_RevokeAccessKey_FullMethodName:   {owner},
	v1.IngestionService_ListAccessKeys_FullMethodName:    {owner},
	// Role grants let people into the console: the owner's to change.
	v1.IngestionService_CreateRoleGrant_FullMethodName: {owner},
	v1.IngestionService_RevokeRoleGrant_FullMethodName: {owner},
	v1.IngestionService_ListRoleGrants_FullMethodName:  {owner},

	// Reporting: reads; a team admin its team's.
	v1.ReportingService_GetUsageSummary_FullMethodName:      readTeam,
	v1.ReportingService_GetUsageByDay_FullMethodName:        readTeam,
	v1.ReportingService_GetUsageByProduct_FullMethodName:    readTeam,
	v1.ReportingService_GetUsageByUser_FullMethodName:       readTeam,
	v1.ReportingService_GetUsageByAttribute_FullMethodName:  readTeam,
	v1.ReportingService_GetDenials_FullMethodName:           readTeam,
	v1.ReportingService_GetSpend_FullMethodName:             readTeam,
	v1.ReportingService_GetSessions_FullMethodName:          readTeam,
	v1.ReportingService_GetCapacityUsage_FullMethodName:     readTeam,
	v1.ReportingService_GetSubscriptionUsage_FullMethodName: readTeam,
	v1.ReportingService_Export_FullMethodName:               read,
	v1.ReportingService_Forecast_FullMethodName:             readTeam,
	v1.ReportingService_AdviseLicensing_FullMethodName:      readTeam,
	v1.ReportingService_WhoAmI_FullMethodName:               readTeam,
	v1.ReportingService_ListUsers_FullMethodName:            readTeam,
	// Planned projects: admins and owners change them; readers list and estimate.
	v1.ReportingService_AddPlannedProject_FullMethodName:    manage,
	v1.ReportingService_RemovePlannedProject_FullMethodName: manage,
	v1.ReportingService_ListPlannedProjects_FullMethodName:  readTeam,
	v1.ReportingService_EstimatePlan_FullMethodName:         readTeam,
	// Schedules are organisation settings that name recipients: admins only.
	v1.ReportingService_CreateReportSchedule_FullMethodName: manage,
	v1.ReportingService_ListReportSchedules_FullMethodName:  manage,
	v1.ReportingService_DeleteReportSchedule_FullMethodName: manage,

	// Alerting: alerts and rules are read by viewers; acknowledging, rules
	// and webhooks (whose URLs are often secrets) are admins'.
	v1.AlertingService_WatchAlerts_FullMethodName:      read,
	v1.AlertingService_ListAlerts_FullMethodName:       readTeam,
	v1.AlertingService_AcknowledgeAlert_FullMethodName: manage,
	v1.AlertingService_ListRules_FullMethodName:        readTeam,
	v1.AlertingService_SetRules_FullMethodName:         manage,
	v1.AlertingService_ListWebhooks_FullMethodName:     manage,
	v1.AlertingService_SetWebhook_FullMethodName:       manage,
	v1.AlertingService_DeleteWebhook_FullMethodName:    manage,
	v1.AlertingService_ListDeadLetters_FullMethodName:  manage,
}
