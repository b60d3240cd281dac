package mmserver

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// writeConfig writes the minimal configuration; the server fills in every
// other default and rewrites the file, which a restart then reuses.
func (s *Server) writeConfig() error {
	cfg := map[string]any{
		"ServiceSettings": map[string]any{
			"SiteURL":                    s.URL(),
			"ListenAddress":              fmt.Sprintf("127.0.0.1:%d", s.port),
			"EnableBotAccountCreation":   true,
			"EnableUserAccessTokens":     true,
			"EnableCommands":             true,
			"EnableIncomingWebhooks":     true,
			"EnableOutgoingWebhooks":     true,
			"EnablePostUsernameOverride": true,
			"EnablePostIconOverride":     true,
			// Slash commands and button callbacks go to a bot listening on
			// loopback; the server refuses internal addresses unless listed.
			"AllowedUntrustedInternalConnections": "127.0.0.1 localhost ::1",
			"EnableLocalMode":                     true,
			"LocalModeSocketLocation":             s.LocalSocket(),
			// Nothing may call out: security alerts, link previews, GIFs.
			"EnableSecurityFixAlert":  false,
			"EnableLinkPreviews":      false,
			"EnablePermalinkPreviews": false,
			"EnableGifPicker":         false,
			"EnableDeveloper":         false,
			"EnableTesting":           false,
		},
		"TeamSettings": map[string]any{"EnableOpenServer": true, "MaxUsersPerTeam": 1000},
		"SqlSettings": map[string]any{
			"DriverName": "postgres", "DataSource": s.pg.dsn(),
			"MaxOpenConns": 20, "MaxIdleConns": 10,
		},
		"LogSettings": map[string]any{
			"EnableConsole": true, "ConsoleLevel": "INFO", "ConsoleJson": false, "EnableColor": false,
			"EnableFile": false, "EnableDiagnostics": false, "EnableSentry": false,
		},
		"NotificationLogSettings": map[string]any{"EnableConsole": false, "EnableFile": false},
		"FileSettings":            map[string]any{"DriverName": "local", "Directory": filepath.Join(s.runDir(), "data") + "/"},
		"EmailSettings": map[string]any{
			"SendEmailNotifications": false, "RequireEmailVerification": false,
			"SendPushNotifications": false, "PushNotificationServer": "",
		},
		"RateLimitSettings": map[string]any{"Enable": false},
		"PluginSettings": map[string]any{
			"Enable": false, "EnableUploads": false, "EnableMarketplace": false,
			"EnableRemoteMarketplace": false, "AutomaticPrepackagedPlugins": false,
			"Directory": filepath.Join(s.runDir(), "plugins"), "ClientDirectory": filepath.Join(s.runDir(), "client", "plugins"),
		},
		"AnnouncementSettings": map[string]any{"AdminNoticesEnabled": false, "UserNoticesEnabled": false},
		"ImageProxySettings":   map[string]any{"Enable": false},
		"MetricsSettings":      map[string]any{"Enable": false},
		// The job server's watcher sleeps up to 15 s before it looks at its
		// stop channel, which made every stop take 0-15 s. Its jobs
		// (exports, imports, retention, background migrations) are not
		// what the bot needs; reminders, DND expiry and session cleanup run
		// outside it.
		"JobSettings":     map[string]any{"RunJobs": false, "RunScheduler": false},
		"ClusterSettings": map[string]any{"Enable": false},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(s.configPath(), b, 0o600)
}
