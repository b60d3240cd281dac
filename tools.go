//go:build tools

// Pins the dependencies named by the design card until the packages that use them land.
package tools

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/emersion/go-imap/v2/imapclient"
	_ "github.com/emersion/go-message/mail"
	_ "github.com/emersion/go-smtp"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/lrstanley/girc"
	_ "github.com/mattermost/mattermost/server/public/model"
	_ "github.com/robfig/cron/v3"
	_ "golang.org/x/sync/errgroup"
	_ "modernc.org/sqlite"
)
