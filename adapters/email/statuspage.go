package email

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// The status page behind a reporter's private link (StatusPath + token):
// the reference, the stage and its dates, and a form to add information,
// encrypted in the browser like the report.

type stageLine struct {
	Name      bot.ReporterStage
	Reached   bool
	Date, ISO string
}

type statusData struct {
	pageData
	View              *bot.ReporterView
	Stages            []stageLine
	LastDate, LastISO string
	Notice            string
	Meaning           string
}

func (p *ReportPage) statusData(r *http.Request, w http.ResponseWriter, v *bot.ReporterView, notice string) statusData {
	d := statusData{pageData: p.base("Report "+v.Reference, true), View: v, Notice: notice, Meaning: bot.StageMeaning(v.Stage)}
	d.CSRF, d.Action = p.csrfToken(w, r), r.URL.Path
	day := func(t time.Time) (string, string) {
		return t.UTC().Format("2 January 2006"), t.UTC().Format(time.RFC3339)
	}
	stages := bot.ReporterStages
	if v.Stage == bot.StageClosed {
		stages = []bot.ReporterStage{bot.StageReceived, bot.StageConfirmed, bot.StageClosed}
	}
	for _, st := range stages {
		l := stageLine{Name: st}
		if t, ok := v.Reached[st]; ok {
			l.Reached = true
			l.Date, l.ISO = day(t)
		}
		d.Stages = append(d.Stages, l)
	}
	if !v.LastFollowUp.IsZero() {
		d.LastDate, d.LastISO = day(v.LastFollowUp)
	}
	return d
}

func (p *ReportPage) serveStatus(w http.ResponseWriter, r *http.Request) {
	v, err := p.status.StatusView(r.Context(), r.PathValue("token"))
	if p.statusFailed(w, err) {
		return
	}
	p.render(w, http.StatusOK, "status", p.statusData(r, w, v, ""))
}

// statusFailed answers an unknown or revoked link, or a failure; false
// when err is nil. Every bad link gets the same answer.
func (p *ReportPage) statusFailed(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return false
	case bot.KindOf(err) == bot.KindNotFound:
		p.answer(w, http.StatusNotFound, "Unknown status link", bot.UserMessage(err), "", "")
	case bot.KindOf(err) == bot.KindInvalid:
		p.answer(w, http.StatusBadRequest, "Not added", bot.UserMessage(err), "", "")
	default:
		p.log.Error("a status page failed", "err", err)
		w.Header().Set("Retry-After", "60")
		p.answer(w, http.StatusServiceUnavailable, "Not available", "The status could not be read; please try again in a minute.", "", "")
	}
	return true
}

// serveFollowUp takes information the reporter adds. It counts against
// the form's rate limit like a report.
func (p *ReportPage) serveFollowUp(w http.ResponseWriter, r *http.Request) {
	h := p.form
	token := r.PathValue("token")
	if ok, retry := h.limiter.allow(clientIP(r, h.opts.TrustedProxies), h.opts.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
		p.answer(w, http.StatusTooManyRequests, "Too many messages", "Too many messages from your address; please try again later.", "", "")
		return
	}
	// Read (within the limit) first, so an oversized body is 413 whatever
	// the link; nothing is kept unless the link is good.
	s, err := p.readSubmission(w, r, true)
	if p.refused(w, err, r.URL.Path) {
		return
	}
	v, err := p.status.StatusView(r.Context(), token)
	if p.statusFailed(w, err) {
		return
	}
	raw, err := p.mail(s, "Follow-up to "+v.Reference, true)
	if p.refused(w, err, r.URL.Path) {
		return
	}
	v, err = p.status.AddFollowUp(r.Context(), token, bot.SourceWeb, raw)
	if p.statusFailed(w, err) {
		return
	}
	p.render(w, http.StatusCreated, "status", p.statusData(r, w, v,
		fmt.Sprintf("Thank you: your information was added to %s, and the team was told.", v.Reference)))
}
