package console

// Page is one page of the console: the Go half of a page (the other half
// is its module under assets/pages/).
type Page struct {
	// ID names the page in URLs: #/<id>/...
	ID string `json:"id"`
	// Title is shown in the navigation and the page heading.
	Title string `json:"title"`
	// Group is the navigation group (a service family), "" for none.
	Group string `json:"group"`
	// Service is the signing name of the AWS service the page uses; the
	// page is shown only when the server serves it. "" for always.
	Service string `json:"service"`
	// Module is the page's ES module, relative to assets/.
	Module string `json:"module"`
}

// pages is the one list of pages, in navigation order; the first is the
// start page. Add a page here (see "Adding a console page" in the package
// comment).
var pages = []Page{
	streamsPage,
	firehosePage,
	analyticsPage,
	videoPage,
	functionsPage,
	s3Page,
	gluePage,
	serverPage,
}
