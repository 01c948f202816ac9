//! The console's one message catalogue (English and Simplified Chinese) and the choice
//! of language: the remembered switch, else `Accept-Language`, else English.

use axum::http::HeaderMap;

use crate::domain::Language;

/// The cookie that remembers the language switch.
pub const LANG_COOKIE: &str = "sa_lang";

macro_rules! catalogue {
    ($($key:ident => $en:literal, $zh:literal;)*) => {
        /// Every text the console shows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum M { $($key),* }

        impl M {
            #[cfg(test)]
            pub const ALL: &'static [M] = &[$(M::$key),*];

            pub fn text(self, lang: Language) -> &'static str {
                match self { $(M::$key => lang.pick($en, $zh)),* }
            }
        }
    };
}

catalogue! {
    AppName => "Support access", "支持访问授权";
    SkipToContent => "Skip to content", "跳到正文";
    MainNav => "Main", "主导航";
    SignIn => "Sign in", "登录";
    SignOut => "Sign out", "退出";
    SignInTitle => "Sign in to Support access", "登录支持访问授权";
    Domain => "Account (domain)", "账号（租户）";
    UserName => "User name", "用户名";
    Password => "Password", "密码";
    SignInFailed => "The account, user name or password is wrong.", "账号、用户名或密码错误。";
    SignInLocked => "Too many failed sign-ins. Try again in a few minutes.", "登录失败次数过多，请几分钟后再试。";
    SessionEnded => "Your session has ended. Please sign in again.", "会话已结束，请重新登录。";
    SignedInAs => "Signed in as", "当前用户";
    OtherLanguage => "中文", "English";
    Requests => "Requests", "授权请求";
    AllStatuses => "All", "全部";
    StatusTabs => "Requests by status", "按状态查看";
    Filters => "Filters", "筛选";
    IncidentId => "Ticket ID", "工单号";
    Summary => "Summary", "简要描述";
    Submitter => "Submitter", "提单人";
    OperatorGroup => "Operator group", "运维组";
    NoGroup => "None: my own view", "不使用：按我自己的权限";
    MySshKeys => "My SSH keys", "我的 SSH 密钥";
    SshKeysHint => "The SSH broker lets you in with these keys. One key belongs to one engineer.", "SSH 代理凭这些密钥让您登录。一个密钥只能属于一名工程师。";
    NoSshKeys => "No SSH keys yet: add one below to connect through the SSH broker.", "尚无 SSH 密钥：请在下方添加，以便通过 SSH 代理连接。";
    Fingerprint => "Fingerprint", "指纹";
    Comment => "Comment", "备注";
    Added => "Added", "添加时间";
    Remove => "Remove", "删除";
    AddSshKey => "Add a key", "添加密钥";
    PublicKey => "Public key (one line, as in ~/.ssh/id_ed25519.pub)", "公钥（一行，如 ~/.ssh/id_ed25519.pub 的内容）";
    Apply => "Apply", "应用";
    Clear => "Clear", "清除";
    Status => "Status", "状态";
    Raised => "Raised", "提交时间";
    RaisedBy => "Engineer", "工程师";
    NoRequests => "No requests match.", "没有符合条件的请求。";
    Previous => "Previous", "上一页";
    Next => "Next", "下一页";
    Paging => "Pages", "分页";
    PageOf => "Showing", "显示";
    Of => "of", "共";
    Request => "Request", "授权请求";
    Why => "Reason given", "申请原因";
    Letter => "Authorization letter", "授权书";
    ResourceType => "Resource type", "资源类型";
    VisitType => "Access type", "访问方式";
    ContentType => "Content", "授权内容";
    RequestedWindow => "Requested window", "申请的时间段";
    GrantedWindow => "Granted window", "授权时间段";
    NotGiven => "not given", "未指定";
    PendingUntil => "Waits for an answer until", "等待处理截止";
    Targets => "Hosts and consoles", "主机与控制台";
    Type => "Type", "类型";
    Host => "Host", "主机";
    Console => "Console", "控制台";
    Instance => "Instance", "实例";
    Region => "Region", "区域";
    Address => "Address", "地址";
    Account => "Account", "账号";
    HostKey => "Host key", "主机密钥";
    RejectReason => "Rejection reason", "拒绝原因";
    HandledBy => "Handled by", "处理人";
    Timeline => "Timeline", "时间线";
    History => "Sessions", "会话记录";
    NoSessions => "No sessions yet.", "暂无会话。";
    Started => "Started", "开始时间";
    Ended => "Ended", "结束时间";
    StillOpen => "still open", "进行中";
    Duration => "Duration", "时长";
    Commands => "Commands", "命令记录";
    NoCommands => "No commands recorded.", "没有命令记录。";
    Transfers => "File transfers", "文件传输";
    NoTransfers => "No file transfers recorded.", "没有文件传输记录。";
    Recording => "Recording", "会话录像";
    RecordingDownload => "Download (asciicast)", "下载（asciicast）";
    RecordingTranscript => "Plain transcript", "纯文本记录";
    NoRecording => "No recording: only terminal sessions through the SSH broker are recorded.", "无录像：仅记录经 SSH 代理的终端会话。";
    RecordingAfterEnd => "The recording is ready to play once the session has ended.", "会话结束后即可播放录像。";
    RecordingPurged => "The recording was deleted at the end of its retention period; its SHA-256 stays in the audit log.", "录像已在保留期满后删除，其 SHA-256 仍保存在审计日志中。";
    LiveView => "Live view", "实时查看";
    LiveElsewhere => "This session runs on another instance of the service; its live view is served there.", "该会话运行在服务的另一个实例上，请在该实例查看实时画面。";
    Terminate => "Terminate this session", "终止此会话";
    TerminateTitle => "Terminate this session?", "确定终止该会话？";
    TerminateReason => "Reason shown to the engineer (optional)", "告知工程师的原因（可选）";
    TerminateNote => "The engineer's connection is cut within seconds and the reason is shown to them. The authorization stays as it is: they may connect again while it lasts.", "工程师的连接将在数秒内断开，并会看到您填写的原因。授权本身保持不变：授权有效期内工程师仍可重新连接。";
    TerminateSubmit => "Yes, terminate", "确认终止";
    SessionState => "State", "状态";
    SessionOpen => "open", "进行中";
    SessionEnding => "ending: terminate requested", "正在结束：已请求终止";
    SessionClosed => "closed", "已结束";
    SessionClosedWhy => "Why it ended", "结束原因";
    FileName => "File", "文件";
    Direction => "Direction", "方向";
    Size => "Size (bytes)", "大小（字节）";
    Result => "Result", "结果";
    From => "From", "从";
    To => "To", "到";
    Time => "Time", "时间";
    Command => "Command", "命令";
    Session => "Session", "会话";
    Approve => "Approve", "批准";
    ApproveTitle => "Approve access", "批准访问";
    ApproveHint => "Give the engineer an account on each host. Check tries the login now, over SSH, without saving anything.", "为每台主机提供账号。点击“检查”会立即通过 SSH 尝试登录，不会保存任何信息。";
    Port => "Port", "端口";
    Check => "Check", "检查";
    Checking => "Checking…", "正在检查…";
    CheckPassed => "Login succeeded: the account and password work.", "登录成功：账号和密码可用。";
    Window => "Access window", "访问时间段";
    WindowStart => "From", "开始";
    WindowEnd => "Until", "结束";
    WindowHint => "In your time zone. The longest window allowed is", "按您所在时区。允许的最长时间段为";
    Hours => "hours", "小时";
    WhatWillHappen => "What the engineer will be able to do", "工程师将获得的权限";
    WillLogIn => "log in to", "登录";
    AsAccount => "as", "使用账号";
    WillUseConsole => "use the console", "使用控制台";
    Between => "between the start and the end of the window above; every session, command and file transfer is recorded for you.", "仅限上述时间段内；所有会话、命令和文件传输都会记录供您查看。";
    ApproveSubmit => "Approve access", "确认批准";
    Reject => "Reject", "拒绝";
    RejectSubmit => "Reject request", "拒绝请求";
    CharactersLeft => "characters left", "剩余字数";
    Revoke => "Revoke", "撤销授权";
    RevokeTitle => "Revoke this authorization?", "确定撤销该授权？";
    RevokeWarning => "Open sessions will be cut at once and the host credentials you gave will be purged. This cannot be undone.", "正在进行的会话将立即断开，您提供的主机凭据将被清除。此操作无法撤销。";
    RevokeSubmit => "Yes, revoke", "确认撤销";
    Cancel => "Back", "返回";
    NotFound => "Not found", "未找到";
    NotFoundText => "There is no such request, or you may not see it.", "不存在该请求，或您无权查看。";
    Error => "Something went wrong", "出错了";
    Forbidden => "Not allowed", "无权操作";
    CsrfRefused => "The form has expired. Go back, reload the page and try again.", "表单已过期，请返回并刷新页面后重试。";
    MyRequests => "My requests", "我的请求";
    RaiseRequest => "Raise a request", "发起请求";
    Recall => "Recall", "撤回";
    CustomerDomain => "Customer account (domain name)", "客户账号（租户名）";
    CustomerSubmitter => "Ticket submitter (user name)", "工单提交人（用户名）";
    Describe => "Why access is needed", "申请原因";
    RequestedStart => "Requested start (optional)", "期望开始时间（可选）";
    RequestedEnd => "Requested end (optional)", "期望结束时间（可选）";
    Target => "Target", "目标";
    TargetHint => "Up to 6 targets; leave the ones you do not need empty.", "最多 6 个目标；不需要的留空即可。";
    InstanceId => "Instance ID", "实例 ID";
    InstanceName => "Instance name", "实例名称";
    HostAddress => "Host address (IP or name)", "主机地址（IP 或域名）";
    Raise => "Raise request", "提交请求";
    Customer => "Customer", "客户";
    TimesIn => "Times are shown in your time zone", "时间按您所在时区显示";
    Required => "required", "必填";
    EvRaise => "Raised", "发起请求";
    EvConfirm => "Approved", "批准";
    EvReject => "Rejected", "拒绝";
    EvCancel => "Revoked", "撤销授权";
    EvRecall => "Recalled by the engineer", "工程师撤回";
    EvExpire => "Expired", "已过期";
    EvHostCheck => "Host checked", "主机检查";
    EvHostKeyReset => "Host key reset", "主机密钥重置";
    EvSessionOpened => "Session opened", "会话开始";
    EvSessionClosed => "Session closed", "会话结束";
    EvOperationsRecorded => "Commands recorded", "记录命令";
    EvFileTransfersRecorded => "File transfers recorded", "记录文件传输";
}

/// The label of an audit event kind; unknown kinds show as recorded.
pub fn event_label(kind: &str, lang: Language) -> String {
    let m = match kind {
        "raise" => M::EvRaise,
        "confirm" => M::EvConfirm,
        "reject" => M::EvReject,
        "cancel" => M::EvCancel,
        "recall" => M::EvRecall,
        "expire" => M::EvExpire,
        "host_check" => M::EvHostCheck,
        "host_key_reset" => M::EvHostKeyReset,
        "session_opened" => M::EvSessionOpened,
        "session_closed" => M::EvSessionClosed,
        "operations_recorded" => M::EvOperationsRecorded,
        "file_transfers_recorded" => M::EvFileTransfersRecorded,
        other => return other.replace('_', " "),
    };
    m.text(lang).to_owned()
}

/// The `lang` attribute and cookie value of a language.
pub fn tag(lang: Language) -> &'static str {
    lang.pick("en-us", "zh-cn")
}

/// A cookie value or `Accept-Language` tag, if it names a supported language.
fn supported(tag: &str) -> Option<Language> {
    let tag = tag.trim().to_ascii_lowercase();
    if tag == "zh" || tag.starts_with("zh-") || tag.starts_with("zh_") {
        Some(Language::Zh)
    } else if tag == "en" || tag.starts_with("en-") || tag.starts_with("en_") {
        Some(Language::En)
    } else {
        None
    }
}

/// The remembered switch, else the most preferred supported `Accept-Language` entry,
/// else `fallback` (the `default_language` setting).
pub fn choose(headers: &HeaderMap, remembered: Option<&str>, fallback: Language) -> Language {
    if let Some(lang) = remembered.and_then(supported) {
        return lang;
    }
    let accept = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best: Option<(f32, Language)> = None;
    for entry in accept.split(',') {
        let mut parts = entry.split(';');
        let Some(lang) = parts.next().and_then(supported) else {
            continue;
        };
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map_or(fallback, |(_, lang)| lang)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("accept-language", HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn the_switch_wins_then_the_best_accepted_language() {
        let en = Language::En;
        let zh = Language::Zh;
        assert_eq!(choose(&accept("zh-CN,zh;q=0.9"), Some("en-us"), zh), en);
        assert_eq!(choose(&accept("fr-FR,zh-CN;q=0.8,en;q=0.5"), None, en), zh);
        assert_eq!(choose(&accept("en-GB,zh;q=0.2"), None, zh), en);
        assert_eq!(choose(&accept("fr"), None, en), en);
        assert_eq!(
            choose(&accept("fr"), None, zh),
            zh,
            "the configured default"
        );
        assert_eq!(choose(&HeaderMap::new(), Some("bogus"), en), en);
    }

    #[test]
    fn every_message_has_both_languages() {
        for m in M::ALL {
            assert!(!m.text(Language::En).is_empty() && !m.text(Language::Zh).is_empty());
        }
    }
}
