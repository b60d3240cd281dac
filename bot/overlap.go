package bot

import (
	"context"
	"strings"
)

// OverlappingCovers returns the other covers of o's team whose time meets
// o's, oldest first. The newest cover wins where covers overlap; the
// person who set o is told whom it displaces, so a mistake shows at once.
func (d *Duty) OverlappingCovers(ctx context.Context, o *Override) ([]*Override, error) {
	rs, err := d.store.RosterState(ctx, o.From)
	if err != nil {
		return nil, err
	}
	var out []*Override
	for _, x := range rs.Overrides {
		if x.Kind == OverrideCover && x.ID != o.ID && strings.EqualFold(x.SIG, o.SIG) &&
			x.From.Before(o.Until) && o.From.Before(x.Until) {
			out = append(out, x)
		}
	}
	return out, nil
}
